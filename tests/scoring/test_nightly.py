"""`pde nightly` on the demo bank: one row per active customer, consistent decisions, atomic reruns, drift."""

from __future__ import annotations

import operator
from collections.abc import Iterator

import numpy as np
import polars as pl
import pytest
from sqlalchemy import Engine, create_engine, text

from predelinquency.domain.scale import pd_to_score, pd_to_tier, score_to_band
from predelinquency.errors import PdeError
from predelinquency.features import registry
from predelinquency.scoring import nightly
from predelinquency.scoring.nightly import run_nightly
from predelinquency.scoring.policy import tier_rank
from predelinquency.scoring.shard import shard_customer_ids
from predelinquency.settings import Settings
from tests.support.features import features_at

OPS = {">=": operator.ge, ">": operator.gt, "<=": operator.le, "<": operator.lt, "==": operator.eq}


@pytest.fixture
def eng(demo_db: str) -> Iterator[Engine]:
    e = create_engine(demo_db)
    yield e
    e.dispose()


def scores(eng: Engine, as_of=None) -> pl.DataFrame:
    with eng.connect() as c:
        rows = c.execute(text("SELECT * FROM risk_scores WHERE as_of = coalesce(CAST(:d AS date), "
                              "(SELECT max(as_of) FROM risk_scores)) ORDER BY customer_id"), {"d": as_of})
        return pl.DataFrame([r._asdict() for r in rows], infer_schema_length=None)


def test_every_active_customer_gets_one_row(eng, demo_bank):
    with eng.connect() as c:
        active = c.execute(text("SELECT count(*) FROM customers WHERE is_active")).scalar_one()
        keys = c.execute(text("SELECT count(*), count(DISTINCT customer_id) FROM risk_scores "
                              "WHERE as_of = :d AND model_version = :v"),
                         {"d": demo_bank.as_of, "v": demo_bank.model_version}).one()
        last_day = c.execute(text("SELECT max(day) FROM daily_balances")).scalar_one()
    assert active > 0 and tuple(keys) == (active, active)
    assert (demo_bank.as_of - last_day).days == 1  # default as_of: the day after the latest data


def test_score_band_tier_and_policy_follow_the_pd_and_config(eng, demo_settings: Settings):
    s = scores(eng)
    cfg = demo_settings.scoring
    pd_ = s["pd"].to_numpy()
    assert ((pd_ > 0) & (pd_ < 1)).all()
    np.testing.assert_array_equal(s["score"].to_numpy(), pd_to_score(pd_, cfg))
    np.testing.assert_array_equal(s["rating_band"].to_numpy(), score_to_band(s["score"].to_numpy(), cfg))
    np.testing.assert_array_equal(s["model_tier"].to_numpy(), pd_to_tier(pd_, cfg))
    tier, model_tier = s["tier"].to_numpy(), s["model_tier"].to_numpy()
    assert (tier_rank(tier) >= tier_rank(model_tier)).all()  # rules only ever raise a tier
    lifted = tier_rank(tier) > tier_rank(model_tier)
    fired = s["policy_rules"].to_list()
    assert all(bool(f) for f in np.asarray(fired, dtype=object)[lifted])
    # each rule that fired is true of the customer's features, and its tier floor holds
    feats = features_at(eng.connect(), s["as_of"][0], s["customer_id"].to_list(), demo_settings)
    by_id = {r["customer_id"]: r for r in feats.iter_rows(named=True)}
    rules = {r.name: r for r in demo_settings.policy_rules}
    for cid, names, t in zip(s["customer_id"], fired, tier, strict=True):
        for name in names:
            rule = rules[name]
            assert OPS[rule.op](by_id[cid][rule.feature], rule.value)
            assert tier_rank(np.array([t]))[0] >= tier_rank(np.array([rule.min_tier]))[0]
    # expected loss is PD × exposure × LGD; an action is recommended only when it pays
    el = s["expected_loss"].to_numpy()
    np.testing.assert_allclose(el, pd_ * s["exposure"].to_numpy() * demo_settings.costs.lgd, rtol=1e-9)
    acts = s["recommended_action"].to_numpy()
    assert set(acts) <= {"none", "soft_reminder", "agent_call", "restructuring_offer"}
    assert (s["expected_benefit"].to_numpy()[acts != "none"] > 0).all()


def test_change_is_measured_against_the_previous_run(eng, demo_bank):
    now, before = scores(eng, demo_bank.as_ofs[-1]), scores(eng, demo_bank.as_ofs[-2])
    joined = now.join(before.select("customer_id", pl.col("pd").alias("was_pd"), pl.col("tier").alias("was_tier"),
                                    pl.col("score").alias("was_score")), on="customer_id")
    assert joined.height == now.height
    np.testing.assert_allclose(joined["prev_pd"].to_numpy(), joined["was_pd"].to_numpy())
    assert joined["prev_tier"].to_list() == joined["was_tier"].to_list()
    assert (joined["score_change"] == joined["score"].cast(pl.Int32) - joined["was_score"].cast(pl.Int32)).all()
    first = scores(eng, demo_bank.as_ofs[0])
    assert first["prev_pd"].is_null().all() and first["score_change"].is_null().all()


def test_reasons_name_registered_features_with_the_customers_own_values(eng, demo_settings: Settings):
    s = scores(eng).sort("pd", descending=True).head(40)
    feats = features_at(eng.connect(), s["as_of"][0], s["customer_id"].to_list(), demo_settings)
    by_id = {r["customer_id"]: r for r in feats.iter_rows(named=True)}
    names = set(registry.FEATURE_NAMES)
    seen = 0
    for cid, reasons in zip(s["customer_id"], s["reasons"], strict=True):
        assert 1 <= len(reasons) <= 3, f"customer {cid} has no reason for a top-40 PD"
        contributions = [r["contribution"] for r in reasons]
        assert contributions == sorted(contributions, reverse=True) and min(contributions) > 0
        for r in reasons:
            assert r["feature"] in names and r["code"] == r["feature"].upper()
            real = by_id[cid][r["feature"]]
            if real is None or (isinstance(real, float) and np.isnan(real)):
                assert r["value"] is None
                continue
            assert r["value"] == pytest.approx(real, abs=1e-4, rel=1e-4)
            assert r["text"] and "{" not in r["text"]
            seen += 1
    assert seen >= 40


def plan_rows(eng: Engine, day) -> list[tuple]:
    with eng.connect() as c:
        return [tuple(r) for r in c.execute(text(
            "SELECT customer_id, arm, rank, recommended_action, channel, assignment, expected_benefit, uplift, "
            "action_cost, uplift_version, policy_version, run_id FROM contact_plan WHERE business_date = :d "
            "ORDER BY rank"), {"d": day})]


def test_rerun_replaces_the_run_atomically(eng, demo_bank, demo_settings: Settings):
    before = scores(eng)
    plan = plan_rows(eng, demo_bank.as_of)
    again = run_nightly(eng, demo_settings, "system:test", demo_bank.as_of)
    after = scores(eng)
    # the day's plan stays as drawn (officers may be working it): same customers, arms, actions and channels
    assert plan and plan_rows(eng, demo_bank.as_of) == plan and again.plan["contacted"] == sum(
        r[1] == "contact" for r in plan)
    assert after["recommended_action"].to_list() == before["recommended_action"].to_list()
    np.testing.assert_allclose(after["uplift"].to_numpy(), before["uplift"].to_numpy(), rtol=1e-9)
    assert again.rows == before.height == after.height
    assert set(after["batch_run_id"]) == {again.run_id} != set(before["batch_run_id"])
    np.testing.assert_allclose(after["pd"].to_numpy(), before["pd"].to_numpy(), rtol=1e-9)
    with eng.connect() as c:
        run = c.execute(text("SELECT status, stages, metrics FROM batch_runs WHERE run_id = :r"),
                        {"r": again.run_id}).one()
    assert run.status == "succeeded" and run.metrics["rows"] == after.height
    assert "uplift_version" in run.metrics and run.metrics["uplift_version"] is None  # the configured prior
    stages = {st["name"]: st for st in run.stages}
    assert {"rollup", "replace_previous_run", "score_shards", "drift"} <= set(stages)
    assert stages["replace_previous_run"]["rows"] == before.height and stages["score_shards"]["rows"] == after.height
    assert all(st["seconds"] >= 0 for st in run.stages)


def test_a_failing_shard_leaves_the_previous_scores_untouched(eng, demo_bank, demo_settings, monkeypatch):
    before = scores(eng)
    demo_settings.nightly = demo_settings.nightly.model_copy(update={"shards": 3})
    real = nightly.score_shard

    calls = []

    def fail_on_the_second(*args, **kwargs):  # after the first shard has written its rows
        calls.append(args)
        if len(calls) == 2:
            raise RuntimeError("disk full while writing shard 1")
        return real(*args, **kwargs)

    monkeypatch.setattr(nightly, "score_shard", fail_on_the_second)
    with pytest.raises(RuntimeError, match="disk full"):
        run_nightly(eng, demo_settings, "system:test", demo_bank.as_of)
    after = scores(eng)
    assert after.equals(before)
    with eng.connect() as c:
        run = c.execute(text("SELECT status, error FROM batch_runs ORDER BY run_id DESC LIMIT 1")).one()
    assert run.status == "failed" and "disk full while writing shard 1" in run.error


def test_shards_are_equal_ranges_that_partition_the_active_customers(eng, demo_bank, demo_settings: Settings):
    demo_settings.nightly = demo_settings.nightly.model_copy(update={"shards": 4})
    with eng.connect() as c:  # some customers inactive, in this transaction only
        c.execute(text("UPDATE customers SET is_active = false WHERE customer_id % 7 = 3"))
        active = c.execute(text("SELECT customer_id FROM customers WHERE is_active ORDER BY 1")).scalars().all()
        parts = [shard_customer_ids(c, b).tolist() for b in nightly.shard_bounds(c, 4)]
        # contiguous runs of the sorted active ids (a shard reads one index range), as equal as can be
        assert [i for p in parts for i in p] == active
        assert max(map(len, parts)) - min(map(len, parts)) <= 1
        # more shards than active customers: one shard per customer, none empty
        assert [len(shard_customer_ids(c, b)) for b in nightly.shard_bounds(c, 10 ** 6)] == [1] * len(active)
        c.rollback()
    with eng.connect() as c:
        active = c.execute(text("SELECT count(*) FROM customers WHERE is_active")).scalar_one()
    r = run_nightly(eng, demo_settings, "system:test", demo_bank.as_of)
    assert r.shards == 4 and r.rows == active


def test_psi_is_small_on_the_training_population_and_large_when_it_shifts(eng, demo_bank, demo_settings):
    with eng.connect() as c:
        snapshots = c.execute(text("SELECT params->'snapshots' FROM model_versions WHERE version = :v"),
                              {"v": demo_bank.model_version}).scalar_one()
    from datetime import date

    in_training = date.fromisoformat(snapshots[len(snapshots) // 2])
    stable = run_nightly(eng, demo_settings, "system:test", in_training)
    assert stable.psi["score"] < 0.1 and stable.psi["score_band"] == "stable"
    # keep only the riskiest fifth of the portfolio: the score distribution moves far from the baseline
    with eng.begin() as c:
        c.execute(text(
            "UPDATE customers SET is_active = false WHERE customer_id NOT IN (SELECT customer_id FROM risk_scores "
            "WHERE as_of = :d ORDER BY pd DESC LIMIT (SELECT count(*) / 5 FROM customers))"), {"d": in_training})
    shifted = run_nightly(eng, demo_settings, "system:test", in_training)
    assert shifted.psi["score"] > 0.25 and shifted.psi["score_band"] == "retrain"
    assert shifted.psi["retrain"], "no feature drifted although the population did"
    assert not set(shifted.psi["retrain"]) & registry.CALENDAR_FEATURES  # those are listed apart
    assert set(shifted.psi["calendar"]) <= registry.CALENDAR_FEATURES
    with eng.connect() as c:
        stored = c.execute(text("SELECT metrics->'psi'->>'score' FROM batch_runs WHERE run_id = :r"),
                           {"r": shifted.run_id}).scalar_one()
    assert float(stored) == pytest.approx(shifted.psi["score"])


def test_bad_as_of_and_missing_model_are_clear_errors(eng, demo_bank, demo_settings: Settings):
    from datetime import timedelta

    with pytest.raises(PdeError, match="after the day following the latest data"):
        run_nightly(eng, demo_settings, "system:test", demo_bank.as_of + timedelta(days=5))
    with eng.begin() as c:
        c.execute(text("UPDATE model_versions SET status = 'retired'"))
    with pytest.raises(PdeError, match="champion"):
        run_nightly(eng, demo_settings, "system:test")
    assert scores(eng).height > 0


def test_cli_prints_the_run_as_json_and_refuses_bad_options(demo_cli, eng, demo_bank):
    import json

    from predelinquency.cli import app

    res = demo_cli.invoke(app, ["nightly", "--json"])
    assert res.exit_code == 0, f"{res.exception!r} {res.output}"
    out = json.loads(res.stdout.strip().splitlines()[-1])
    with eng.connect() as c:
        active = c.execute(text("SELECT count(*) FROM customers WHERE is_active")).scalar_one()
    assert out["rows"] == active and out["as_of"] == str(demo_bank.as_of)
    assert out["model_version"] == demo_bank.model_version and sum(out["tiers"].values()) == active
    assert {"score", "score_band", "retrain", "calendar"} <= set(out["psi"])
    res = demo_cli.invoke(app, ["nightly", "--as-of", "1 Nov"])
    assert isinstance(res.exception, PdeError) and "--as-of must be a date" in str(res.exception)
    res = demo_cli.invoke(app, ["nightly", "--schedule", "--as-of", "2026-11-01"])
    assert isinstance(res.exception, PdeError) and "do not go together" in str(res.exception)
