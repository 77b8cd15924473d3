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
from predelinquency.model.uplift.model import prior_model
from predelinquency.scoring.nightly import run_nightly
from predelinquency.scoring.single import score_customer, score_customers
from predelinquency.scoring.stored import data_version, stored_scores
from predelinquency.settings import Settings

pytestmark = pytest.mark.slow


@pytest.fixture
def engine(demo_db: str) -> Iterator[Engine]:
    """The demo bank: the session's `conn` fixture then rolls back on it."""
    e = create_engine(demo_db)
    yield e
    e.dispose()


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
    "DELETE FROM daily_balances WHERE customer_id = :c AND day = (SELECT max(day) FROM daily_balances)",
    "UPDATE payments SET status = status WHERE customer_id = :c",
    "UPDATE customers SET monthly_income = monthly_income WHERE customer_id = :c",
])
def test_after_any_write_every_customer_is_computed_as_the_nightly_would(conn, demo_settings: Settings, demo_bank,
                                                                        write: str):
    model = load_model(demo_settings, conn)
    cid, other = sample_ids(conn, demo_bank.as_of, 3)[:2]
    before, untouched_before = score_customers(conn, demo_settings, [cid, other], model=model)
    version = data_version(conn)
    conn.execute(text(write), {"c": cid})
    assert data_version(conn) == version + 1
    assert stored_scores(conn, demo_settings, model.version, [cid, other]) == {}
    # a customer whose rows the write left alone: computed, and equal to the row the nightly stored
    same_result(untouched_before, score_customer(conn, demo_settings, other, model=model))
    after = score_customer(conn, demo_settings, cid, model=model)
    assert after["source"] == "computed"
    if "outstanding" in write:
        assert after["exposure"] == pytest.approx(2 * before["exposure"])
    elif "DELETE FROM daily_balances" in write:  # the customer's latest day moved back: so does their as_of
        assert after["as_of"] == before["as_of"] - timedelta(days=1)
    else:  # rewritten unchanged
        same_result(before, after)
    assert [r["source"] for r in score_customers(conn, demo_settings, [cid, other], model=model)] == ["computed"] * 2


def test_what_is_computed_after_a_write_is_what_the_next_nightly_stores(engine: Engine, demo_settings: Settings,
                                                                        demo_bank):
    with engine.begin() as c:
        model = load_model(demo_settings, c)
        ids = sample_ids(c, demo_bank.as_of, 4)
        c.execute(text("UPDATE accounts SET outstanding = outstanding * 3 + 100 WHERE customer_id = :c"),
                  {"c": ids[0]})
    with engine.connect() as c:
        computed = score_customers(c, demo_settings, ids, model=model)
    assert {r["source"] for r in computed} == {"computed"}
    run_nightly(engine, demo_settings, "system:test")
    with engine.connect() as c:
        for now, stored in zip(computed, score_customers(c, demo_settings, ids, model=model), strict=True):
            same_result(stored, now)


def test_settings_other_than_the_run_s_are_not_served(conn, demo_settings: Settings, demo_bank):
    model = load_model(demo_settings, conn)
    cid = sample_ids(conn, demo_bank.as_of, 2)[0]
    changed = demo_settings.model_copy(deep=True)
    changed.scoring = changed.scoring.model_copy(update={"tiers": {"medium": 0.01, "high": 0.02, "critical": 0.03}})
    assert score_customer(conn, changed, cid, model=model)["source"] == "computed"
    assert score_customer(conn, demo_settings, cid, model=model)["source"] == "nightly"


def test_scores_chosen_with_another_uplift_model_are_not_served(conn, demo_settings: Settings, demo_bank):
    model = load_model(demo_settings, conn)
    cid = sample_ids(conn, demo_bank.as_of, 2)[0]
    learned = prior_model(demo_settings)
    learned.version = "uplift-elsewhere"  # the run chose its actions with the configured prior
    assert stored_scores(conn, demo_settings, model.version, [cid], uplift_version="uplift-elsewhere") == {}
    assert score_customer(conn, demo_settings, cid, model=model, uplift=learned)["source"] == "computed"
    assert score_customer(conn, demo_settings, cid, model=model)["source"] == "nightly"


def test_another_model_s_scores_are_not_served(conn, demo_settings: Settings, demo_bank):
    challenger = load_model(demo_settings, conn, demo_bank.challenger)
    cid = sample_ids(conn, demo_bank.as_of, 2)[0]
    r = score_customer(conn, demo_settings, cid, model=challenger)
    assert r["source"] == "computed" and r["model_version"] == demo_bank.challenger


def test_a_new_earlier_run_changes_the_previous_score_so_later_rows_are_recomputed(engine: Engine,
                                                                                   demo_settings: Settings, demo_bank):
    with engine.connect() as c:
        model = load_model(demo_settings, c)
        ids = sample_ids(c, demo_bank.as_of)
        assert stored_scores(c, demo_settings, model.version, ids).keys() == set(ids)
    # a run between the last two becomes the latest rows' previous score: their change and urgency are stale
    between = demo_bank.as_of - timedelta(days=3)
    run_nightly(engine, demo_settings, "system:test", between)
    pair = ("SELECT r.customer_id, b.pd FROM risk_scores r JOIN risk_scores b ON b.customer_id = r.customer_id "
            "AND b.as_of = :b AND b.model_version = r.model_version WHERE r.as_of = :d AND r.model_version = :v AND ")
    params = {"b": between, "d": demo_bank.as_of, "v": model.version}
    with engine.connect() as c:
        assert stored_scores(c, demo_settings, model.version, ids) == {}
        # a customer whose previous score moved: computed with the new run's score as the previous one
        moved, moved_pd = c.execute(text(pair + "r.prev_pd IS DISTINCT FROM b.pd ORDER BY 1 LIMIT 1"), params).one()
        now = score_customer(c, demo_settings, moved, model=model)
        assert now["source"] == "computed" and now["prev_pd"] == pytest.approx(moved_pd)
        # the new run's own rows serve explicit requests for their day, never the default one
        assert score_customer(c, demo_settings, moved, model=model, as_of=between)["source"] == "nightly"
    run_nightly(engine, demo_settings, "system:test")
    with engine.connect() as c:
        assert score_customer(c, demo_settings, moved, model=model)["source"] == "nightly"
        assert stored_scores(c, demo_settings, model.version, ids).keys() == set(ids)


def test_truncate_and_copy_count_as_writes(conn: Connection):
    """Statement triggers see bulk loads and resets too (generate --reset truncates, loads COPY)."""
    version = data_version(conn)
    conn.execute(text("TRUNCATE customers, accounts, payments, daily_balances CASCADE"))
    assert data_version(conn) == version + 4
    copy_in(conn, "customers", pl.DataFrame({
        "customer_id": [1], "full_name": ["A"], "age": [40], "employment_type": ["salaried"], "segment": ["mass"],
        "region": ["North"], "monthly_income": [1000.0], "tenure_months": [12]}))
    assert data_version(conn) == version + 5
