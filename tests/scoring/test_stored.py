"""Stored nightly scores served as fresh ones: only while nothing they were computed from has changed."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import polars as pl
import pytest
from sqlalchemy import Connection, Engine, create_engine, text

from predelinquency.db.bulk import copy_in
from predelinquency.model.registry import load_model
from predelinquency.scoring.nightly import run_nightly
from predelinquency.scoring.single import score_customer, score_customers
from predelinquency.scoring.stored import data_version, stored_latest
from predelinquency.settings import Settings

pytestmark = pytest.mark.slow


@pytest.fixture
def eng(demo_db: str) -> Iterator[Engine]:
    e = create_engine(demo_db)
    yield e
    e.dispose()


@pytest.fixture
def conn(eng: Engine) -> Iterator[Connection]:
    """A connection whose writes are rolled back after the test."""
    with eng.connect() as c:
        yield c
        c.rollback()


def sample_ids(conn: Connection, as_of, n: int = 6) -> list[int]:
    """Customers of the latest run across the whole range of risk (riskiest, safest and between)."""
    ids = conn.execute(text("SELECT customer_id FROM risk_scores WHERE as_of = :d ORDER BY pd DESC"),
                       {"d": as_of}).scalars().all()
    step = max(1, len(ids) // (n - 1))
    return sorted({*ids[::step][: n - 1], ids[-1]})


def same_result(stored: dict[str, Any], fresh: dict[str, Any]) -> None:
    assert stored["source"] == "nightly" and fresh["source"] == "computed"
    assert set(stored) == set(fresh)
    for key, value in stored.items():
        if key == "source":
            continue
        if isinstance(value, float):
            assert fresh[key] == pytest.approx(value, rel=1e-9, abs=1e-12), key
        elif key == "reasons":
            assert [r["code"] for r in value] == [r["code"] for r in fresh[key]]
            assert [r["text"] for r in value] == [r["text"] for r in fresh[key]]
            assert [r["contribution"] for r in value] == pytest.approx([r["contribution"] for r in fresh[key]])
        else:
            assert fresh[key] == value, key


def test_a_current_nightly_score_is_served_and_is_what_scoring_now_gives(conn, demo_settings: Settings, demo_bank):
    model = load_model(demo_settings, conn)
    ids = sample_ids(conn, demo_bank.as_of)
    for cid in ids:
        stored = score_customer(conn, demo_settings, cid, model=model)
        same_result(stored, score_customer(conn, demo_settings, cid, model=model, reuse_stored=False))
        assert stored["as_of"] == demo_bank.as_of and stored["model_version"] == demo_bank.model_version
    # a batch, and an explicit as_of (an earlier run's rows are still current: nothing changed since)
    assert {r["source"] for r in score_customers(conn, demo_settings, ids, model=model)} == {"nightly"}
    earlier = score_customers(conn, demo_settings, ids, model=model, as_of=demo_bank.as_ofs[1])
    assert {r["source"] for r in earlier} == {"nightly"} and {r["as_of"] for r in earlier} == {demo_bank.as_ofs[1]}
    recomputed = score_customers(conn, demo_settings, ids, model=model, as_of=demo_bank.as_ofs[1], reuse_stored=False)
    for s, f in zip(earlier, recomputed, strict=True):
        same_result(s, f)


@pytest.mark.parametrize("write", [
    "UPDATE accounts SET outstanding = outstanding * 2 WHERE customer_id = :c",
    "UPDATE payments SET status = status WHERE customer_id = :c",
    "UPDATE customers SET monthly_income = monthly_income WHERE customer_id = :c",
    "DELETE FROM daily_balances WHERE customer_id = :c AND day = (SELECT max(day) FROM daily_balances)",
])
def test_any_write_to_what_features_read_makes_every_stored_score_stale(conn, demo_settings: Settings, demo_bank,
                                                                        write: str):
    model = load_model(demo_settings, conn)
    cid, other = sample_ids(conn, demo_bank.as_of, 3)[:2]
    before = score_customer(conn, demo_settings, cid, model=model)
    version = data_version(conn)
    conn.execute(text(write), {"c": cid})
    assert data_version(conn) == version + 1
    after = score_customer(conn, demo_settings, cid, model=model)
    assert after["source"] == "computed"
    # the counter is per table, not per customer: other customers are recomputed too (correct, if slower)
    assert score_customer(conn, demo_settings, other, model=model)["source"] == "computed"
    if "outstanding" in write:
        assert after["exposure"] == pytest.approx(2 * before["exposure"])
    if "DELETE FROM daily_balances" in write:  # the customer's latest day moved back: so does their as_of
        assert after["as_of"] == before["as_of"] - timedelta(days=1)


def test_settings_other_than_the_run_s_are_not_served(conn, demo_settings: Settings, demo_bank):
    model = load_model(demo_settings, conn)
    cid = sample_ids(conn, demo_bank.as_of, 2)[0]
    changed = demo_settings.model_copy(deep=True)
    changed.scoring = changed.scoring.model_copy(update={"tiers": {"medium": 0.01, "high": 0.02, "critical": 0.03}})
    assert score_customer(conn, changed, cid, model=model)["source"] == "computed"
    assert score_customer(conn, demo_settings, cid, model=model)["source"] == "nightly"


def test_another_model_s_scores_are_not_served(conn, demo_settings: Settings, demo_bank):
    challenger = load_model(demo_settings, conn, demo_bank.challenger)
    cid = sample_ids(conn, demo_bank.as_of, 2)[0]
    r = score_customer(conn, demo_settings, cid, model=challenger)
    assert r["source"] == "computed" and r["model_version"] == demo_bank.challenger


def test_a_backfill_makes_later_scores_stale_until_they_are_rerun(eng: Engine, demo_settings: Settings, demo_bank):
    with eng.connect() as c:
        cid = sample_ids(c, demo_bank.as_of, 2)[0]
        model = load_model(demo_settings, c)
        assert stored_latest(c, demo_settings, model.version, cid)
    # rescoring an earlier day may change the previous score, change and urgency of every later row
    run_nightly(eng, demo_settings, "system:test", demo_bank.as_ofs[0])
    with eng.connect() as c:
        assert stored_latest(c, demo_settings, model.version, cid) == {}
        assert score_customer(c, demo_settings, cid, model=model)["source"] == "computed"
        # the backfilled rows serve explicit requests for their day, never the default one
        assert score_customer(c, demo_settings, cid, model=model, as_of=demo_bank.as_ofs[0])["source"] == "nightly"
    run_nightly(eng, demo_settings, "system:test")
    with eng.connect() as c:
        assert score_customer(c, demo_settings, cid, model=model)["source"] == "nightly"


def test_truncate_and_copy_count_as_writes(conn: Connection):
    """Statement triggers see bulk loads and resets too (generate --reset truncates, loads COPY)."""
    version = data_version(conn)
    conn.execute(text("TRUNCATE customers, accounts, payments, daily_balances CASCADE"))
    assert data_version(conn) == version + 4
    copy_in(conn, "customers", pl.DataFrame({
        "customer_id": [1], "full_name": ["A"], "age": [40], "employment_type": ["salaried"], "segment": ["mass"],
        "region": ["North"], "monthly_income": [1000.0], "tenure_months": [12]}))
    assert data_version(conn) == version + 5
