"""The forward run (simulate/forward.py) is `pde advance --nightly none` kept in memory: on a copy of the advanced
bank, the same days played both ways give the same daily rows, payments, potential outcomes and features."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import numpy as np
import polars as pl
import pytest
from sqlalchemy import create_engine, text

from predelinquency.db.inputs import load_feature_inputs
from predelinquency.domain.daily import WINDOW_DAYS
from predelinquency.domain.vocabulary import INTERVENTION_TYPES
from predelinquency.features.build import feature_matrix
from predelinquency.features.window import build_panel
from predelinquency.loop.advance import advance_bank
from predelinquency.settings import Settings
from predelinquency.simulate.forward import ForwardBank
from tests.support.bank import AdvancedBank
from tests.support.db import cloned_database

DAYS = 6


@pytest.fixture(scope="module")
def both_ways(pg_server_url: str, advanced_bank: AdvancedBank) -> Iterator[dict]:
    """The same DAYS played in memory first (read-only), then by advance_bank on the same copy."""
    with cloned_database(pg_server_url, advanced_bank.template) as url:
        settings = Settings(data_dir=advanced_bank.data_dir, database_url=url)
        engine = create_engine(url)
        with engine.connect() as conn:
            first = conn.execute(text("SELECT last_day + 1 FROM simulation_bank")).scalar_one()
            ids = np.array(conn.execute(text("SELECT customer_id FROM customers WHERE is_active ORDER BY 1")
                                        ).scalars().all())
            before = load_feature_inputs(conn, first, first, None, payments_due_before=first + timedelta(days=3650))
            bank = ForwardBank(conn, settings, before.payments, ids)
            days = [bank.step() for _ in range(DAYS)]
            written = conn.execute(text("SELECT count(*) FROM payments")).scalar_one()
            conn.rollback()
        advanced = advance_bank(engine, settings, DAYS, nightly="none", actor="system:test")
        yield {"engine": engine, "settings": settings, "first": first, "ids": ids, "before": before, "bank": bank,
               "days": days, "payments_before": written, "advanced": advanced}
        engine.dispose()


def test_the_same_days_are_simulated(both_ways):
    days = both_ways["days"]
    assert [d.day for d in days] == [both_ways["first"] + timedelta(days=i) for i in range(DAYS)]
    assert both_ways["advanced"]["last_day"] == days[-1].day.isoformat()
    assert all(d.daily.height == len(both_ways["bank"].customer_ids) for d in days)


def test_daily_rows_are_those_the_rollup_wrote(both_ways):
    first, ids = both_ways["first"], both_ways["ids"]
    end = first + timedelta(days=DAYS)
    with both_ways["engine"].connect() as conn:
        after = load_feature_inputs(conn, end, end, ids.tolist())
    stored = build_panel(after.daily, ids, end - timedelta(days=WINDOW_DAYS), end)
    mine = build_panel(pl.concat([both_ways["before"].daily, *[d.daily for d in both_ways["days"]]]), ids,
                       end - timedelta(days=WINDOW_DAYS), end)
    for name, values in stored.columns.items():
        np.testing.assert_array_equal(mine.columns[name], values, err_msg=name)


def test_payments_are_settled_and_extended_as_advance_writes_them(both_ways):
    with both_ways["engine"].connect() as conn:
        stored = pl.read_database("SELECT payment_id, customer_id, account_id, due_date, amount_due, paid_date, "
                                  "amount_paid, days_late, status FROM payments ORDER BY payment_id", conn)
    mine = both_ways["bank"].payments.table().sort("payment_id")
    assert stored.height == mine.height > both_ways["payments_before"]
    for name in stored.columns:
        expected = stored[name].to_numpy()
        if name in ("due_date", "paid_date"):
            expected = expected.astype("datetime64[D]")
        np.testing.assert_array_equal(mine[name], expected.astype(mine[name].dtype), err_msg=name)


def test_potential_outcomes_are_those_advance_recorded(both_ways):
    first = both_ways["first"]
    with both_ways["engine"].connect() as conn:
        rows = conn.execute(text(
            "SELECT customer_id, eligible_on, due_date, p_none, p_action, missed_none, missed_action "
            "FROM simulated_outcomes WHERE due_date >= :d ORDER BY 1, 2"), {"d": first}).all()
    epoch = np.datetime64("1970-01-01", "D")
    mine = {}
    for d in both_ways["days"]:
        o = d.outcomes
        for i in range(len(o.cust)):
            mine[(int(o.cust[i]), int(o.eligible_on[i]))] = (int(o.due[i]), o.p_none[i], o.p_action[i],
                                                            bool(o.missed_none[i]), o.missed_action[i])
    # advance records the plan's population only; the forward run has every active customer's
    assert rows and len(mine) > len(rows)
    for r in rows:
        key = (r.customer_id, int((np.datetime64(r.eligible_on, "D") - epoch).astype(int)))
        due, p_none, p_action, missed_none, missed_action = mine[key]
        assert due == int((np.datetime64(r.due_date, "D") - epoch).astype(int))
        assert p_none == pytest.approx(r.p_none, abs=1e-12) and missed_none == r.missed_none
        for j, action in enumerate(INTERVENTION_TYPES):
            assert p_action[j] == pytest.approx(r.p_action[action], abs=1e-12)
            assert bool(missed_action[j]) == r.missed_action[action]


def test_features_at_a_later_date_are_the_same(both_ways):
    first, ids = both_ways["first"], both_ways["ids"]
    as_of = first + timedelta(days=DAYS)
    grace = both_ways["settings"].simulation.grace_days
    with both_ways["engine"].connect() as conn:
        after = load_feature_inputs(conn, as_of, as_of, ids.tolist())
    stored = feature_matrix(build_panel(after.daily, ids), as_of, after.customers, after.accounts, after.payments,
                            grace_days=grace)
    before = both_ways["before"]
    panel = build_panel(pl.concat([before.daily, *[d.daily for d in both_ways["days"]]]), ids,
                        as_of - timedelta(days=WINDOW_DAYS), as_of)
    mine = feature_matrix(panel, as_of, before.customers, before.accounts, both_ways["bank"].payments.table(),
                          grace_days=grace)
    np.testing.assert_array_equal(mine, stored)
