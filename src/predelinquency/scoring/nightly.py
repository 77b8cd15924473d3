"""`pde nightly`: bring the rollup up to date, score every active customer with the champion, write risk_scores;
record the run's drift, fairness and expected performance, and realise the earlier runs whose window has closed.

Customers are split into shards, contiguous ranges of customer ids of equal size; each shard loads its own
inputs, computes features, scores and is written with COPY, independently of the others, so the same job can
run shards on several machines. Locally the shards run in-process inside ONE transaction: re-running an
(as_of, model) replaces its rows atomically, and a failure anywhere leaves the previous scores untouched.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import numpy as np
import polars as pl
from sqlalchemy import Connection, Engine, text

from predelinquency.db.bulk import copy_in
from predelinquency.db.calendar import move_business_date
from predelinquency.db.inputs import load_scoring_inputs
from predelinquency.db.rollup import latest_data_day, refresh_daily_balances
from predelinquency.db.runs import RunRecorder, recorded_run
from predelinquency.errors import PdeError
from predelinquency.model.drift import DriftAccumulator
from predelinquency.model.pd_model import PDModel
from predelinquency.model.registry import load_model
from predelinquency.scoring.compute import score_ids
from predelinquency.scoring.decide import as_frame
from predelinquency.scoring.fairness import run_fairness
from predelinquency.scoring.performance import realise_closed_runs, record_expected
from predelinquency.scoring.plan import build_plan
from predelinquency.scoring.settle import settle_outcomes
from predelinquency.scoring.stored import bump_score_history, data_version, settings_digest
from predelinquency.settings import Settings

log = logging.getLogger(__name__)
# memory per shard grows with customers × 90 days × ~20 daily columns: cap a shard at this many customers
MAX_SHARD_CUSTOMERS = 50_000


@dataclass
class NightlyResult:
    """What a nightly run did: where, with which model, how many rows, and its drift figures."""

    run_id: int
    as_of: date
    model_version: str
    rows: int
    shards: int
    rollup_days: int
    tiers: dict[str, int]
    psi: dict[str, Any]
    stages: list[dict[str, Any]] = field(default_factory=list)
    plan: dict[str, Any] | None = None      # today's contact plan (None for a backfill)
    settled: dict[str, Any] | None = None   # outcomes settled by this run
    fairness: dict[str, Any] | None = None  # the run's figures by sensitive attribute (model.fairness)
    performance: dict[str, Any] | None = None  # expected AUC and default rate; earlier runs realised


def bring_rollup_up_to_date(conn: Connection) -> tuple[int, date | None]:
    """(days added to daily_balances from newer transactions, usually one; the rollup's latest day after that).

    Returns the latest day too, so the caller need not scan daily_balances for it a second time.
    """
    last_daily = latest_data_day(conn)
    # only days after the rollup's last: partition pruning then skips every month already rolled up (asking
    # from its last day itself scanned that month's whole index)
    last_txn = conn.execute(text(
        "SELECT max(ts)::date FROM transactions WHERE ts >= COALESCE(CAST(:d AS date) + 1, DATE '1900-01-01')"),
        {"d": last_daily}).scalar()
    if last_txn is None:
        return 0, last_daily
    lo = last_daily + timedelta(days=1) if last_daily else last_txn
    refresh_daily_balances(conn, lo, last_txn)
    return (last_txn - lo).days + 1, last_txn


def shard_bounds(conn: Connection, n_shards: int) -> list[tuple[int, int]]:
    """(first, last) customer id of each shard: contiguous ranges of the active customers, equal in size.

    Ranges rather than hash buckets: the inputs are keyed (customer_id, day), so a range is one index range
    per partition. A hash bucket's rows are spread over every page: each shard would read the whole 90-day
    window to keep its own share (bench/RESULTS.md).
    """
    rows = conn.execute(text(
        "SELECT min(customer_id), max(customer_id) FROM (SELECT customer_id, ntile(:n) OVER (ORDER BY customer_id) "
        "AS k FROM customers WHERE is_active) t GROUP BY k ORDER BY k"), {"n": n_shards}).all()
    return [(int(lo), int(hi)) for lo, hi in rows]


def shard_customer_ids(conn: Connection, bounds: tuple[int, int]) -> np.ndarray:
    """Active customers of the shard with these bounds, sorted."""
    ids = conn.execute(text("SELECT customer_id FROM customers WHERE is_active AND customer_id BETWEEN :lo AND :hi "
                            "ORDER BY 1"), {"lo": bounds[0], "hi": bounds[1]}).scalars().all()
    return np.asarray(ids, dtype=np.int64)


def _score_shard(conn: Connection, settings: Settings, model: PDModel, as_of: date, bounds: tuple[int, int],
                 run_id: int, version_now: int, at_latest: bool, drift: DriftAccumulator) -> pl.DataFrame:
    """Scores the shard of the active customers within bounds and COPYs its rows; returns the rows written.

    at_latest: as_of is the day after the latest data, so each customer's window holds their latest day.
    """
    ids = shard_customer_ids(conn, bounds)
    if len(ids) == 0:
        return pl.DataFrame()
    inputs, previous = load_scoring_inputs(conn, as_of, ids.tolist())
    decided, features = score_ids(conn, settings, model, as_of, ids, (inputs, previous))
    rows = as_frame(decided)
    # what lets later requests reuse the row (scoring/stored.py): the write count and each customer's latest
    # data day (as_of - 1 makes it their default-as_of score; unknown in a backfill, whose window ends before
    # the customer's real latest data)
    last = (inputs.daily.group_by("customer_id").agg(pl.col("day").max().alias("last_data_day")) if at_latest
            else pl.DataFrame({"customer_id": ids, "last_data_day": pl.Series([None] * len(ids), dtype=pl.Date)}))
    rows = (rows.join(last, on="customer_id", how="left", maintain_order="left")
            .with_columns(pl.lit(as_of).alias("as_of"), pl.lit(model.version).alias("model_version"),
                          pl.lit(run_id).alias("batch_run_id"), pl.lit(version_now).alias("data_version")))
    copy_in(conn, "risk_scores", rows)
    drift.add(rows["score"].to_numpy(), features)
    return rows


def run_nightly(engine: Engine, settings: Settings, actor: str, as_of: date | None = None,
                progress_to_stderr: bool = False) -> NightlyResult:
    """Scores every active customer at as_of (default: the day after the latest data) and records the run."""
    params = {"as_of": str(as_of) if as_of else "latest", "shards": settings.nightly.shards,
              "settings_digest": settings_digest(settings)}  # lets the API reuse the rows (scoring/stored.py)
    with recorded_run(engine, "nightly", actor, params) as rec, engine.begin() as conn:
        return nightly_in(conn, rec, settings, as_of)


def nightly_in(conn: Connection, rec: RunRecorder, settings: Settings, as_of: date | None = None) -> NightlyResult:
    """The nightly's work in the caller's transaction, recorded on `rec` (`pde advance` runs it per day)."""
    with rec.stage("rollup") as st:
        rollup_days, last = bring_rollup_up_to_date(conn)
        st["days"] = rollup_days
    if last is None:
        raise PdeError("there is no banking data to score: run pde generate or load data first")
    as_of = as_of or last + timedelta(days=1)
    if as_of > last + timedelta(days=1):
        raise PdeError(f"as_of {as_of} is after the day following the latest data ({last})")
    model = load_model(settings, conn)
    if model.kind != "behavioural":
        raise PdeError(f"the champion {model.version} is a {model.kind} model; nightly scoring needs a "
                       "behavioural model (pde train without --data), promoted to champion")
    n_active = conn.execute(text("SELECT count(*) FROM customers WHERE is_active")).scalar_one()
    all_bounds = shard_bounds(conn, max(settings.nightly.shards, math.ceil(n_active / MAX_SHARD_CUSTOMERS)))
    n_shards = len(all_bounds)  # fewer than asked when there are fewer active customers than shards
    rec.progress(0.02, f"scoring {n_active} customers at {as_of} with {model.version} in {n_shards} shards")
    latest_scored = conn.execute(text("SELECT max(as_of) FROM risk_scores")).scalar()
    if latest_scored is not None and as_of < latest_scored:
        bump_score_history(conn)  # a backfill changes the previous score of every later row
    version_now = data_version(conn)  # what these scores are computed from (scoring/stored.py)
    with rec.stage("replace_previous_run") as st:
        st["rows"] = conn.execute(text(
            "DELETE FROM risk_scores WHERE as_of = :d AND model_version = :v"),
            {"d": as_of, "v": model.version}).rowcount
    conn.execute(text("SELECT pde_ensure_partitions('risk_scores', :d, :d)"), {"d": as_of})
    drift = DriftAccumulator(model_baseline(conn, model.version))
    tiers: dict[str, int] = {}
    total = 0
    with rec.stage("score_shards") as st:
        for shard, bounds in enumerate(all_bounds):
            rows = _score_shard(conn, settings, model, as_of, bounds, rec.run_id, version_now,
                                as_of == last + timedelta(days=1), drift)
            total += rows.height
            for t, c in rows.group_by("tier").len().iter_rows() if rows.height else []:
                tiers[t] = tiers.get(t, 0) + c
            rec.progress(0.05 + 0.9 * (shard + 1) / n_shards, f"shard {shard + 1}/{n_shards}: {rows.height} rows")
        st["rows"] = total
    with rec.stage("drift"):
        psi = drift.result()
    plan = settled = None
    if as_of == last + timedelta(days=1):  # today's run, not a backfill: the loop moves on
        move_business_date(conn, as_of)
        with rec.stage("settle_outcomes") as st:
            settled = settle_outcomes(conn, last, as_of, settings.operations.outcome_window_days,
                                      settings.simulation.grace_days)
            st.update(settled)
        with rec.stage("contact_plan") as st:
            plan = build_plan(conn, settings, as_of, model.version, rec.run_id).as_dict()
            st.update(plan)
    with rec.stage("fairness") as st:  # after the plan: the share in today's plan is one of its figures
        fairness = run_fairness(conn, settings, as_of, model.version)
        st["alerts"] = len(fairness["alerts"])
    with rec.stage("performance") as st:
        performance = record_expected(conn, settings, as_of, model.version, rec.run_id, psi, fairness)
        # every earlier run whose outcome window these data close gets its realised figures, once
        performance["realised"] = realise_closed_runs(conn, settings, last, last + timedelta(days=1))
        st["realised"] = performance["realised"]["realised"]
    rec.metrics.update({"as_of": str(as_of), "model_version": model.version, "rows": total, "tiers": tiers,
                        "psi": psi, "plan": plan, "settled": settled, "fairness": fairness,
                        "performance": performance})
    return NightlyResult(run_id=rec.run_id, as_of=as_of, model_version=model.version, rows=total,
                         shards=n_shards, rollup_days=rollup_days, tiers=tiers, psi=psi, stages=rec.stages,
                         plan=plan, settled=settled, fairness=fairness, performance=performance)


def model_baseline(conn: Connection, version: str) -> dict[str, Any]:
    """The PSI baseline stored with the model at training."""
    return conn.execute(text("SELECT baseline FROM model_versions WHERE version = :v"), {"v": version}).scalar_one()
