"""The in-memory simulation of one chunk: determinism, volumes, products, instalments, ledger, true_pd."""

import numpy as np
import pytest

from predelinquency.settings import Simulation
from predelinquency.simulate.chunk import PILOT_CUSTOMERS, Chunk, calibrate, chunk_rng, simulate_chunk
from predelinquency.simulate.customers import make_customers
from predelinquency.simulate.events import CAT
from predelinquency.simulate.frames import accounts_frame, customers_frame, payments_frame
from predelinquency.simulate.payments import (
    MISSED,
    PENDING,
    _due_log_survival,
    instalment_schedule,
    window_miss_rate,
)
from predelinquency.simulate.stress import simulate_stress
from predelinquency.simulate.timeline import DEFAULT_END, Timeline

TL = Timeline(DEFAULT_END, 150)
SIM = Simulation()


@pytest.fixture(scope="module")
def chunk() -> Chunk:
    return simulate_chunk(3, 0, 1, 300, TL, -4.0, SIM)


def _fingerprint(ch: Chunk) -> dict[str, object]:
    return {"customers": customers_frame(ch, TL), "accounts": accounts_frame(ch, TL),
            "payments": payments_frame(ch, TL, 1), "events": [ch.events.cust, ch.events.day, ch.events.sec,
                                                              ch.events.cents, ch.events.cat, ch.events.failed],
            "daily": list(ch.daily.values()), "true_pd": [ch.true_pd]}


def _same(a: object, b: object) -> bool:
    if isinstance(a, list):
        return all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))
    return a.equals(b)


def test_same_seed_same_data_and_another_seed_differs(chunk: Chunk):
    a = _fingerprint(chunk)
    b = _fingerprint(simulate_chunk(3, 0, 1, 300, TL, -4.0, SIM))
    for key in a:
        assert _same(a[key], b[key]), key
    other = _fingerprint(simulate_chunk(4, 0, 1, 300, TL, -4.0, SIM))
    for key in ("customers", "payments", "daily", "true_pd"):
        assert not _same(a[key], other[key]), key
    assert len(other["events"][0]) != len(a["events"][0])


def test_calibration_is_deterministic_and_hits_the_target():
    a = calibrate(5, TL, SIM)
    assert a == calibrate(5, TL, SIM)
    rng = chunk_rng(5, -1)
    c = make_customers(rng, 1, PILOT_CUSTOMERS)
    paths = simulate_stress(rng, c.base_risk, TL.days)
    log_surv = _due_log_survival(instalment_schedule(c, TL), paths.level, c.base_risk, a, c.n, TL.days)
    assert window_miss_rate(log_surv) == pytest.approx(SIM.target_miss_rate, abs=1e-4)


def test_transactions_per_customer_month_stay_within_the_configured_range(chunk: Chunk):
    ev = chunk.events
    month = TL.month_of[ev.day]
    counts = np.bincount(ev.cust.astype(np.int64) * TL.n_months + month, minlength=300 * TL.n_months)
    counts = counts.reshape(300, TL.n_months)
    full = [m for m in range(TL.n_months) if TL.month_days()[m] == TL.month_first[m + 1] - TL.month_first[m]]
    assert len(full) >= 3
    assert counts[:, full].min() >= SIM.txn_per_month_min
    assert counts[:, full].max() <= SIM.txn_per_month_max


def test_products_every_customer_can_be_watched(chunk: Chunk):
    c = chunk.customers
    assert (c.has_card | c.has_loan).all()  # every customer has something to miss
    assert 0.6 < c.has_savings.mean() < 0.95
    accounts = accounts_frame(chunk, TL)
    assert accounts.filter(product_type="current").height == 300
    credit = accounts.filter(accounts["product_type"].is_in(["credit_card", "personal_loan"]))
    assert credit["due_day"].is_not_null().all() and (credit["monthly_instalment"] > 0).all()


def test_instalments_one_per_month_and_pending_only_after_the_end(chunk: Chunk):
    s, st = chunk.schedule, chunk.settlement
    pending = st.status == PENDING
    assert (s.due[pending] >= TL.days).all() and (s.due[~pending] < TL.days).all()
    # exactly one pending instalment per credit product
    products = chunk.customers.has_card.sum() + chunk.customers.has_loan.sum()
    assert pending.sum() == products
    missed = st.status == MISSED
    assert (st.paid_day[missed] == -1).all()
    late = st.days_late > 0
    assert (st.days_late[late] <= SIM.grace_days).all()


def test_ledger_balances_are_the_daily_rows_balances(chunk: Chunk):
    assert np.array_equal(chunk.ledger.balance, chunk.daily["balance"])
    assert np.array_equal(chunk.ledger.savings, chunk.daily["savings_balance"])
    assert (chunk.daily["savings_balance"] >= 0).all()


def test_failed_debits_move_no_money_and_true_pd_is_a_probability(chunk: Chunk):
    ev = chunk.events
    assert ev.failed.any()
    assert set(np.unique(ev.cat[ev.failed])) <= {CAT["utilities"], CAT["lending_app_repayment"],
                                                 CAT["loan_instalment"], CAT["card_repayment"]}
    assert (chunk.true_pd >= 0).all() and (chunk.true_pd <= 1).all()
    assert 0.01 < chunk.true_pd.mean() < 0.15
