"""Stored nightly scores served as fresh ones: only while nothing they were computed from has changed."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import numpy as np
import polars as pl
import pytest
from sqlalchemy import Connection, Engine, create_engine, text

from predelinquency.db.bulk import copy_in
from predelinquency.db.inputs import load_feature_inputs
from predelinquency.model.registry import load_model
from predelinquency.scoring.nightly import load_latest_scoring_inputs, run_nightly
from predelinquency.scoring.single import score_customer, score_customers
from predelinquency.scoring.stored import data_version, input_digests, stored_latest, unchanged_latest
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


@pytest.mark.parametrize(("write", "changes_inputs"), [
    ("UPDATE accounts SET outstanding = outstanding * 2 WHERE customer_id = :c", True),
    ("DELETE FROM daily_balances WHERE customer_id = :c AND day = (SELECT max(day) FROM daily_balances)", True),
    ("UPDATE payments SET status = status WHERE customer_id = :c", False),
    ("UPDATE customers SET monthly_income = monthly_income WHERE customer_id = :c", False),
])
def test_after_any_write_only_customers_whose_inputs_changed_are_recomputed(conn, demo_settings: Settings, demo_bank,
                                                                          write: str, changes_inputs: bool):
    model = load_model(demo_settings, conn)
    cid, other = sample_ids(conn, demo_bank.as_of, 3)[:2]
    before = score_customer(conn, demo_settings, cid, model=model)
    version = data_version(conn)
    conn.execute(text(write), {"c": cid})
    assert data_version(conn) == version + 1
    # the one-read path is off for everybody: the write count moved on
    assert stored_latest(conn, demo_settings, model.version, other)[0] == {}
    # untouched customers (and rows a statement rewrote unchanged) still get their stored row, after one load
    untouched = score_customer(conn, demo_settings, other, model=model)
    same_result(untouched, score_customer(conn, demo_settings, other, model=model, reuse_stored=False))
    after = score_customer(conn, demo_settings, cid, model=model)
    assert after["source"] == ("computed" if changes_inputs else "nightly")
    if "outstanding" in write:
        assert after["exposure"] == pytest.approx(2 * before["exposure"])
    if "DELETE FROM daily_balances" in write:  # the customer's latest day moved back: so does their as_of
        assert after["as_of"] == before["as_of"] - timedelta(days=1)
    # a batch mixes both
    batch = score_customers(conn, demo_settings, [cid, other], model=model)
    assert [r["source"] for r in batch] == [after["source"], "nightly"]


def test_the_latest_row_is_checked_against_the_day_inputs_and_previous_score_read_now(conn, demo_settings: Settings,
                                                                                      demo_bank):
    """The one-customer path's digest check, which reuses the one-statement read instead of a query of its own."""
    model = load_model(demo_settings, conn)
    cid, other = sample_ids(conn, demo_bank.as_of, 3)[:2]
    conn.execute(text("UPDATE data_versions SET version = version + 1 WHERE table_name = 'payments'"))
    served, row = stored_latest(conn, demo_settings, model.version, cid)
    assert served == {} and row is not None and not row["is_current"] and row["prev_pd"] is not None
    as_of, inputs, previous = load_latest_scoring_inputs(conn, cid)
    same_result(unchanged_latest(conn, demo_settings, row, as_of, inputs, previous)[cid],
                score_customer(conn, demo_settings, cid, model=model, reuse_stored=False))
    # another day, another customer's inputs, or no previous score: each alone rejects the row
    assert unchanged_latest(conn, demo_settings, row, as_of + timedelta(days=1), inputs, previous) == {}
    assert unchanged_latest(conn, demo_settings, row, as_of, load_latest_scoring_inputs(conn, other)[1],
                            previous) == {}
    none = previous.filter_rows(np.zeros(previous.height, dtype=bool))
    assert unchanged_latest(conn, demo_settings, row, as_of, inputs, none) == {}
    # and settings other than the run's
    changed = demo_settings.model_copy(deep=True)
    changed.scoring = changed.scoring.model_copy(update={"tiers": {"medium": 0.01, "high": 0.02, "critical": 0.03}})
    assert unchanged_latest(conn, changed, row, as_of, inputs, previous) == {}


def test_the_nightly_digest_is_what_loading_the_customer_now_gives(conn, demo_settings: Settings, demo_bank):
    ids = conn.execute(text("SELECT customer_id FROM risk_scores WHERE as_of = :d AND model_version = :v "
                            "ORDER BY customer_id LIMIT 40"), {"d": demo_bank.as_of, "v": demo_bank.model_version}
                       ).scalars().all()
    stored = dict(conn.execute(text("SELECT customer_id, inputs_digest FROM risk_scores WHERE as_of = :d "
                                    "AND model_version = :v AND customer_id = ANY(:ids)"),
                               {"d": demo_bank.as_of, "v": demo_bank.model_version, "ids": ids}).tuples().all())
    # the nightly read its shards through COPY; one customer is a plain fetch, 40 go through COPY again
    one = input_digests(load_feature_inputs(conn, demo_bank.as_of, demo_bank.as_of, [ids[0]]))
    assert [(int(i), int(d)) for i, d in zip(*one, strict=True)] == [(ids[0], stored[ids[0]])]
    # on demand: numpy Columns, read in one statement with the customer's latest day
    as_of, inputs, _ = load_latest_scoring_inputs(conn, ids[1])
    assert as_of == demo_bank.as_of and input_digests(inputs)[1].tolist() == [stored[ids[1]]]
    many = dict(zip(*(a.tolist() for a in input_digests(load_feature_inputs(conn, demo_bank.as_of, demo_bank.as_of,
                                                                              ids))), strict=True))
    assert many == stored and len(set(many.values())) == len(ids)


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


def test_a_new_earlier_run_changes_the_previous_score_so_later_rows_are_recomputed(engine: Engine,
                                                                                   demo_settings: Settings, demo_bank):
    with engine.connect() as c:
        model = load_model(demo_settings, c)
        assert all(stored_latest(c, demo_settings, model.version, i)[0] for i in sample_ids(c, demo_bank.as_of))
    # a run between the last two becomes the latest rows' previous score: their change and urgency are stale
    between = demo_bank.as_of - timedelta(days=3)
    run_nightly(engine, demo_settings, "system:test", between)
    pair = ("SELECT r.customer_id, b.pd FROM risk_scores r JOIN risk_scores b ON b.customer_id = r.customer_id "
            "AND b.as_of = :b AND b.model_version = r.model_version WHERE r.as_of = :d AND r.model_version = :v AND ")
    params = {"b": between, "d": demo_bank.as_of, "v": model.version}
    with engine.connect() as c:
        # a customer whose previous score moved: the stored row is stale, whatever its inputs
        moved, moved_pd = c.execute(text(pair + "r.prev_pd IS DISTINCT FROM b.pd ORDER BY 1 LIMIT 1"), params).one()
        assert stored_latest(c, demo_settings, model.version, moved)[0] == {}
        now = score_customer(c, demo_settings, moved, model=model)
        assert now["source"] == "computed" and now["prev_pd"] == pytest.approx(moved_pd)
        # one whose previous PD, tier and score came out the same (isotonic steps tie many customers): the stored
        # row is still exactly what a computation gives, so it is served after the digest check
        kept = c.execute(text(pair + "r.prev_pd = b.pd AND r.prev_tier = b.tier AND r.score_change = r.score - b.score "
                                     "ORDER BY 1 LIMIT 1"), params).scalar()
        if kept is not None:
            same_result(score_customer(c, demo_settings, kept, model=model),
                        score_customer(c, demo_settings, kept, model=model, reuse_stored=False))
        # the new run's own rows serve explicit requests for their day, never the default one
        assert score_customer(c, demo_settings, moved, model=model, as_of=between)["source"] == "nightly"
    run_nightly(engine, demo_settings, "system:test")
    with engine.connect() as c:
        assert score_customer(c, demo_settings, moved, model=model)["source"] == "nightly"
        assert stored_latest(c, demo_settings, model.version, moved)[0]


def test_truncate_and_copy_count_as_writes(conn: Connection):
    """Statement triggers see bulk loads and resets too (generate --reset truncates, loads COPY)."""
    version = data_version(conn)
    conn.execute(text("TRUNCATE customers, accounts, payments, daily_balances CASCADE"))
    assert data_version(conn) == version + 4
    copy_in(conn, "customers", pl.DataFrame({
        "customer_id": [1], "full_name": ["A"], "age": [40], "employment_type": ["salaried"], "segment": ["mass"],
        "region": ["North"], "monthly_income": [1000.0], "tenure_months": [12]}))
    assert data_version(conn) == version + 5
