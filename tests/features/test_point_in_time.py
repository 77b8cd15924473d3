"""Point-in-time: nothing on or after as_of (daily rows, payment outcomes, new accounts) changes any feature."""

from datetime import date, timedelta

import numpy as np
import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from predelinquency.domain.daily import FLOW_COLUMNS, PANEL_COLUMNS
from predelinquency.features.build import compute_features
from predelinquency.features.window import build_panel
from tests.support.feature_panels import ACCOUNT_SCHEMA, PAYMENT_SCHEMA, customers_frame

AS_OF = date(2026, 3, 1)
N = 3
FIRST, LAST = AS_OF - timedelta(days=110), AS_OF + timedelta(days=30)
STATUSES = ["paid", "late", "missed", "pending"]


def _random_daily(rng: np.random.Generator, days: list[date]) -> pl.DataFrame:
    """Random daily_balances rows for customers 1..N on `days`, a few rows dropped (missing days)."""
    rows = [(c, d) for c in range(1, N + 1) for d in days if rng.random() > 0.05]
    n = len(rows)
    data: dict = {"customer_id": [r[0] for r in rows], "day": [r[1] for r in rows]}
    for col in PANEL_COLUMNS:
        if col in ("balance", "savings_balance"):
            data[col] = rng.normal(200, 400, n)
        elif col in FLOW_COLUMNS and col.endswith(("count", "debits")):
            data[col] = rng.poisson(0.5, n).astype(float)
        else:
            data[col] = rng.exponential(50, n) * (rng.random(n) < 0.3)
    data["salary_in"] = np.where([d.day == 15 + c for c, d in rows], 3000.0, 0.0) * (rng.random(n) < 0.9)
    return pl.DataFrame(data, schema_overrides={"day": pl.Date})


def _random_payments(rng: np.random.Generator, start_id: int, due_lo: date, due_hi: date, k: int) -> list[dict]:
    out = []
    for i in range(k):
        due = due_lo + timedelta(days=int(rng.integers(0, (due_hi - due_lo).days)))
        paid = None if rng.random() < 0.3 else due + timedelta(days=int(rng.integers(-3, 40)))
        out.append({"payment_id": start_id + i, "customer_id": int(rng.integers(1, N + 1)), "account_id": 1,
                    "due_date": due, "amount_due": float(rng.integers(50, 500)), "paid_date": paid,
                    "amount_paid": float(rng.integers(0, 500)), "days_late": int(rng.integers(0, 30)),
                    "status": STATUSES[int(rng.integers(0, 4))]})
    return out


def _future_date(rng: np.random.Generator) -> date | None:
    return None if rng.random() < 0.3 else AS_OF + timedelta(days=int(rng.integers(0, 40)))


def _rewrite_the_future(rng: np.random.Generator, daily: pl.DataFrame, payments: list[dict], accounts: list[dict]):
    """Same past, different future: new values, dropped and added rows on or after as_of."""
    past = daily.filter(pl.col("day") < AS_OF)
    future_days = [AS_OF + timedelta(days=i) for i in range(int(rng.integers(0, 45)))]
    new_daily = pl.concat([past, _random_daily(rng, future_days).select(past.columns)]) if future_days else past
    new_daily = new_daily.sample(fraction=1.0, shuffle=True, seed=int(rng.integers(0, 1000)))
    new_payments = []
    for p in payments:
        p = dict(p)
        if p["due_date"] >= AS_OF:
            p |= {"amount_due": float(rng.integers(1, 900)), "paid_date": _future_date(rng)}
        elif p["paid_date"] is None or p["paid_date"] >= AS_OF:
            # still unpaid at as_of: how and when it was finally settled is the future
            p |= {"paid_date": _future_date(rng), "amount_paid": float(rng.integers(0, 900))}
        p |= {"status": STATUSES[int(rng.integers(0, 4))], "days_late": int(rng.integers(0, 60))}
        new_payments.append(p)
    new_payments += _random_payments(rng, 10_000, AS_OF, AS_OF + timedelta(days=60), 5)
    new_accounts = [*accounts, {"account_id": 9, "customer_id": int(rng.integers(1, N + 1)),
                                "product_type": "personal_loan", "monthly_instalment": 999.0,
                                "opened_on": AS_OF + timedelta(days=int(rng.integers(0, 20)))}]
    return new_daily, new_payments, new_accounts


def _features(daily: pl.DataFrame, payments: list[dict], accounts: list[dict]) -> np.ndarray:
    panel = build_panel(daily, customer_ids=list(range(1, N + 1)))
    df = compute_features(panel, AS_OF, customers_frame(N), pl.DataFrame(accounts, schema=ACCOUNT_SCHEMA),
                          pl.DataFrame(payments, schema=PAYMENT_SCHEMA))
    return df.drop("customer_id").to_numpy()


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_changing_or_adding_data_on_or_after_as_of_changes_no_feature(seed: int):
    rng = np.random.default_rng(seed)
    daily = _random_daily(rng, [FIRST + timedelta(days=i) for i in range((LAST - FIRST).days)])
    payments = _random_payments(rng, 0, FIRST - timedelta(days=60), LAST, 12)
    accounts = [{"account_id": 1, "customer_id": c, "product_type": "credit_card", "monthly_instalment": 50.0,
                 "opened_on": date(2024, 1, 1)} for c in range(1, N + 1)]
    before = _features(daily, payments, accounts)
    after = _features(*_rewrite_the_future(rng, daily, payments, accounts))
    np.testing.assert_allclose(after, before, rtol=1e-9, equal_nan=True)


def test_the_day_before_as_of_does_change_features():
    rng = np.random.default_rng(1)
    daily = _random_daily(rng, [FIRST + timedelta(days=i) for i in range((LAST - FIRST).days)])
    before = _features(daily, [], [])
    changed = daily.with_columns(
        pl.when(pl.col("day") == AS_OF - timedelta(days=1)).then(pl.col("outflow") + 1e4).otherwise(pl.col("outflow"))
        .alias("outflow"))
    assert not np.allclose(_features(changed, [], []), before, equal_nan=True)
