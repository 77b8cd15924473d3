"""`pde backtest policy --days D --capacity K`: every policy replayed on one no-contact world, the result stored
in policy_backtests (attributed and audited) and shown on the Interventions Tracker."""

from __future__ import annotations

import json
import logging
from typing import Any

from sqlalchemy import Connection, Engine, text

from predelinquency.db.audit import write_audit
from predelinquency.db.calendar import business_date
from predelinquency.db.runs import Progress, no_progress
from predelinquency.errors import PdeError
from predelinquency.loop.backtest.figures import lead_time, no_contact_misses, policy_figures, ratios
from predelinquency.loop.backtest.policies import POLICIES, plan_policy
from predelinquency.loop.backtest.world import play_world
from predelinquency.model.registry import load_model, read_artifact
from predelinquency.model.uplift.model import UpliftModel
from predelinquency.model.uplift.registry import get_uplift, load_uplift
from predelinquency.settings import Settings
from predelinquency.simulate.advance import require_simulated_bank

log = logging.getLogger(__name__)
MAX_DAYS = 366
MAX_CAPACITY = 1_000_000
ASSUMPTIONS = (
    "one no-contact world: every policy is replayed on its potential outcomes under the same random draws",
    "scores follow the no-contact trajectory: a customer whose miss a policy prevented still looks as without it",
    "a contact counts for the customer's first instalment due in the outcome window (the outcome the product "
    "settles)",
    "officers work every planned contact; no holdout, for every policy",
    "the engine's channel capacities and exploration share do not apply",
)


def validate(days: int, capacity: int) -> None:
    """Raises PdeError naming the first invalid argument."""
    if not 1 <= days <= MAX_DAYS:
        raise PdeError(f"--days must be between 1 and {MAX_DAYS}, got {days}")
    if not 1 <= capacity <= MAX_CAPACITY:
        raise PdeError(f"--capacity must be between 1 and {MAX_CAPACITY:,}, got {capacity}")


def _uplift_model(settings: Settings, conn: Connection, version: str | None) -> UpliftModel:
    """The uplift champion (the configured prior when none), or the version asked for."""
    if version is None:
        return load_uplift(settings, conn)
    return read_artifact(get_uplift(conn, version), settings, UpliftModel, what="uplift model")


def run_backtest(conn: Connection, settings: Settings, days: int, capacity: int, uplift_version: str | None = None,
                 progress: Progress = no_progress) -> dict[str, Any]:
    """The backtest's figures (deterministic: the same bank and arguments give the same result); reads only."""
    validate(days, capacity)
    require_simulated_bank(conn)
    pd_model = load_model(settings, conn)
    if pd_model.kind != "behavioural":
        raise PdeError(f"the champion {pd_model.version} is a {pd_model.kind} model; the backtest scores with the "
                       "nightly's behavioural model (pde train without --data), promoted to champion")
    uplift = _uplift_model(settings, conn, uplift_version)
    start = business_date(conn)
    world = play_world(conn, settings, days, pd_model, uplift, progress)
    baseline = no_contact_misses(world)
    plans = {p: plan_policy(p, world, capacity) for p in POLICIES}
    figures = {p: policy_figures(world, plan, baseline) for p, plan in plans.items()}
    return {
        "days": days, "capacity": capacity, "business_date": start.isoformat(),
        "first_day": world.first_day.isoformat(), "window_days": world.window,
        "customers": len(world.customer_ids), "units": int(world.has_unit.sum()),
        "model_version": pd_model.version, "uplift_version": uplift.version,
        "scored_on": "no-contact world", "assumptions": list(ASSUMPTIONS),
        "no_contact": {"missed": baseline[0], "expected_missed": round(baseline[1], 2)},
        "policies": figures,
        "engine_vs_pd_top_k": ratios(figures["engine"], figures["pd_top_k"], "pd_top_k"),
        "engine_vs_oracle": ratios(figures["engine"], figures["oracle"], "oracle"),
        "lead_time": lead_time(world, plans["engine"]),
    }


def backtest_policy(engine: Engine, settings: Settings, days: int, capacity: int, uplift_version: str | None = None,
                    actor: str = "cli", progress: Progress = no_progress) -> dict[str, Any]:
    """Runs the backtest on a read-only snapshot of the bank, then stores and audits it; the result with its
    backtest_id."""
    validate(days, capacity)
    with engine.connect() as conn:
        # one snapshot for every read; nothing is written to the bank
        conn.execute(text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY"))
        result = run_backtest(conn, settings, days, capacity, uplift_version, progress)
        conn.rollback()
    with engine.begin() as conn:
        backtest_id = conn.execute(text(
            "INSERT INTO policy_backtests (created_by, business_date, days, capacity, model_version, uplift_version, "
            "result) VALUES (:by, :d, :days, :k, :m, :u, CAST(:r AS jsonb)) RETURNING backtest_id"),
            {"by": actor, "d": result["business_date"], "days": days, "k": capacity, "m": result["model_version"],
             "u": result["uplift_version"], "r": json.dumps(result)}).scalar_one()
        write_audit(conn, actor, "backtest_policy", "policy_backtest", backtest_id, None, {
            "days": days, "capacity": capacity, "business_date": result["business_date"],
            "model_version": result["model_version"], "uplift_version": result["uplift_version"],
            "net_benefit": {p: f["net_benefit"] for p, f in result["policies"].items()}})
    log.info("policy backtest %s: %s days, capacity %s", backtest_id, days, capacity)
    return {"backtest_id": backtest_id, **result}


def last_backtest(conn: Connection) -> dict[str, Any] | None:
    """The latest stored backtest: its row (id, when, by whom, business date, days, capacity, versions) and
    result; None when none has run."""
    row = conn.execute(text(
        "SELECT backtest_id, created_at, created_by, business_date, days, capacity, model_version, uplift_version, "
        "result FROM policy_backtests ORDER BY created_at DESC, backtest_id DESC LIMIT 1")).mappings().first()
    if row is None:
        return None
    out = dict(row)
    policies = out["result"]["policies"]   # jsonb keeps no key order: the policies' own order back
    out["result"]["policies"] = {p: policies[p] for p in POLICIES if p in policies}
    return out
