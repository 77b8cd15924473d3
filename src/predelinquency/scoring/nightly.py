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
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, text

from predelinquency.db.calendar import move_business_date
from predelinquency.db.rollup import latest_data_day, refresh_daily_balances
from predelinquency.db.runs import RunRecorder, recorded_run
from predelinquency.errors import PdeError
from predelinquency.model.drift import DriftAccumulator
from predelinquency.scoring.cluster import (
    STAGING,
    ShardScored,
    clear_staging,
    cluster_client,
    parse_cluster,
    score_on_cluster,
    task_target,
)
from predelinquency.scoring.fairness import run_fairness
from predelinquency.scoring.performance import realise_closed_runs, record_expected
from predelinquency.scoring.plan import build_plan
from predelinquency.scoring.settle import settle_outcomes
from predelinquency.scoring.shard import RunModels, score_shard
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


@dataclass
class _Run:
    """What a run scores: the day, the latest data day, the models and the shards' id ranges."""

    as_of: date
    last: date
    models: RunModels
    bounds: list[tuple[int, int]]

    @property
    def at_latest(self) -> bool:
        """Today's run (the day after the latest data), not a backfill."""
        return self.as_of == self.last + timedelta(days=1)


@dataclass
class Staged:
    """A run whose shards a Dask cluster has scored into risk_scores_staging (scoring/cluster.py)."""

    rollup_days: int
    run: _Run
    version_now: int
    shards: list[ShardScored]


def _prepare(conn: Connection, rec: RunRecorder, settings: Settings, as_of: date | None, last: date | None) -> _Run:
    """The run's day, models and shards; PdeError when there is nothing to score or as_of is in the future."""
    if last is None:
        raise PdeError("there is no banking data to score: run pde generate or load data first")
    as_of = as_of or last + timedelta(days=1)
    if as_of > last + timedelta(days=1):
        raise PdeError(f"as_of {as_of} is after the day following the latest data ({last})")
    models = RunModels.load(conn, settings)
    n_active = conn.execute(text("SELECT count(*) FROM customers WHERE is_active")).scalar_one()
    bounds = shard_bounds(conn, max(settings.nightly.shards, math.ceil(n_active / MAX_SHARD_CUSTOMERS)))
    # fewer shards than asked when there are fewer active customers than shards
    rec.progress(0.02, f"scoring {n_active} customers at {as_of} with {models.pd.version} in {len(bounds)} shards")
    return _Run(as_of, last, models, bounds)


def _mark_backfill(conn: Connection, as_of: date) -> None:
    latest_scored = conn.execute(text("SELECT max(as_of) FROM risk_scores")).scalar()
    if latest_scored is not None and as_of < latest_scored:
        bump_score_history(conn)  # a backfill changes the previous score of every later row


def run_nightly(engine: Engine, settings: Settings, actor: str, as_of: date | None = None,
                progress_to_stderr: bool = False, cluster: str | None = None, client: Any = None) -> NightlyResult:
    """Scores every active customer at as_of (default: the day after the latest data) and records the run.

    cluster: where the shards run ("local:N" or "tcp://HOST:PORT"; default settings.nightly.cluster, None: in this
    process); client: a Dask client to run them on instead (a caller's own cluster).
    """
    spec = cluster if cluster is not None else settings.nightly.cluster
    params = {"as_of": str(as_of) if as_of else "latest", "shards": settings.nightly.shards,
              "settings_digest": settings_digest(settings),  # lets the API reuse the rows (scoring/stored.py)
              "cluster": "client" if client is not None else spec}
    if spec:
        parse_cluster(spec)  # a bad value is refused before any run is recorded
    with recorded_run(engine, "nightly", actor, params) as rec:
        if client is None and not spec:
            with engine.begin() as conn:
                return nightly_in(conn, rec, settings, as_of)
        try:
            return _nightly_on_cluster(engine, rec, settings, as_of, spec, client)
        finally:
            clear_staging(engine, rec.run_id)


def _nightly_on_cluster(engine: Engine, rec: RunRecorder, settings: Settings, as_of: date | None,
                        spec: str | None, client: Any) -> NightlyResult:
    """The rollup committed first (the workers read it from their own connections), the shards on the cluster,
    then the run's one transaction moves their rows into risk_scores and does the rest of the nightly."""
    clear_staging(engine, rec.run_id, stale=True)
    with engine.begin() as conn:
        with rec.stage("rollup") as st:
            rollup_days, last = bring_rollup_up_to_date(conn)
            st["days"] = rollup_days
        run = _prepare(conn, rec, settings, as_of, last)
        _mark_backfill(conn, run.as_of)
        version_now = data_version(conn)
        baseline = model_baseline(conn, run.models.pd.version)
    url, task_settings = task_target(engine, settings)
    n = len(run.bounds)

    def progress(done: int, shard: ShardScored) -> None:
        rec.progress(0.05 + 0.85 * done / n, f"shard {done}/{n} on the cluster: {shard.rows} rows")

    with rec.stage("score_shards_on_cluster") as st:
        with nullcontext(client) if client is not None else cluster_client(str(spec)) as dask:
            st["workers"] = len(dask.scheduler_info().get("workers", {}))
            shards = score_on_cluster(dask, url, task_settings, run.as_of, run.bounds, rec.run_id, version_now,
                                      run.at_latest, run.models.pd.version, run.models.uplift.version, baseline,
                                      progress)
        st["shards"] = [{"bounds": list(s.bounds), "rows": s.rows, **s.seconds} for s in shards]
    with engine.begin() as conn:
        return nightly_in(conn, rec, settings, run.as_of, Staged(rollup_days, run, version_now, shards))


def _move_staged(conn: Connection, run_id: int) -> int:
    """Moves a run's staged rows into risk_scores; the number moved."""
    columns = conn.execute(text(
        "SELECT string_agg(quote_ident(attname), ', ' ORDER BY attnum) FROM pg_attribute "
        "WHERE attrelid = 'risk_scores_staging'::regclass AND attnum > 0 AND NOT attisdropped")).scalar_one()
    moved = conn.execute(text(f"INSERT INTO risk_scores ({columns}) SELECT {columns} FROM {STAGING} "
                              "WHERE batch_run_id = :r"), {"r": run_id}).rowcount
    conn.execute(text(f"DELETE FROM {STAGING} WHERE batch_run_id = :r"), {"r": run_id})
    return moved


def _refresh_statistics(conn: Connection, as_of: date) -> None:
    """ANALYZE, inside the caller's transaction, of today's scores' partition and the tables the plan's query
    excludes customers by. Autovacuum cannot see a transaction's own rows: after days of them the planner takes
    today's scores for one row and anti-joins the interventions once per customer (an advance's plan went from
    0.1 s to 8 s in 10 days, and 0.06 s once analysed)."""
    part = conn.execute(text("SELECT tableoid::regclass::text FROM risk_scores WHERE as_of = :d LIMIT 1"),
                        {"d": as_of}).scalar()
    for table in (part, "interventions", "contact_plan"):
        if table:  # names from the catalog and constants, never from input
            conn.execute(text(f"ANALYZE {table}"))


def nightly_in(conn: Connection, rec: RunRecorder, settings: Settings, as_of: date | None = None,
               staged: Staged | None = None, *, refresh_statistics: bool = False) -> NightlyResult:
    """The nightly's work in the caller's transaction, recorded on `rec` (`pde advance` runs it per day); with
    `staged`, the shards a cluster already scored are moved in instead of scored here; refresh_statistics: the
    caller's transaction holds days of rows no ANALYZE has seen (`pde advance`, which runs as the tables' owner)."""
    if staged is None:
        with rec.stage("rollup") as st:
            rollup_days, last = bring_rollup_up_to_date(conn)
            st["days"] = rollup_days
        run = _prepare(conn, rec, settings, as_of, last)
        _mark_backfill(conn, run.as_of)
        version_now = data_version(conn)  # what these scores are computed from (scoring/stored.py)
    else:
        rollup_days, run, version_now = staged.rollup_days, staged.run, staged.version_now
    as_of, last, model, uplift = run.as_of, run.last, run.models.pd, run.models.uplift
    n_shards = len(run.bounds)
    with rec.stage("replace_previous_run") as st:
        st["rows"] = conn.execute(text(
            "DELETE FROM risk_scores WHERE as_of = :d AND model_version = :v"),
            {"d": as_of, "v": model.version}).rowcount
    conn.execute(text("SELECT pde_ensure_partitions('risk_scores', :d, :d)"), {"d": as_of})
    drift = DriftAccumulator(model_baseline(conn, model.version))
    tiers: dict[str, int] = {}
    total = 0
    # a cluster's shards were scored before this transaction: here their staged rows are moved in
    with rec.stage("score_shards" if staged is None else "move_staged_rows") as st:
        if staged is None:
            st["shards"] = []
            for shard, bounds in enumerate(run.bounds):
                rows, seconds = score_shard(conn, settings, run.models, as_of, bounds, rec.run_id, version_now,
                                            run.at_latest, drift)
                st["shards"].append({"bounds": list(bounds), "rows": rows.height, **seconds})
                total += rows.height
                for t, c in rows.group_by("tier").len().iter_rows() if rows.height else []:
                    tiers[t] = tiers.get(t, 0) + c
                rec.progress(0.05 + 0.9 * (shard + 1) / n_shards,
                             f"shard {shard + 1}/{n_shards}: {rows.height} rows")
        else:
            total = _move_staged(conn, rec.run_id)
            expected = sum(s.rows for s in staged.shards)
            if total != expected:
                raise PdeError(f"the cluster's shards scored {expected} rows but {total} were staged for run "
                               f"{rec.run_id}: nothing was replaced")
            for s in staged.shards:
                drift.merge(s.drift)
                for t, c in s.tiers.items():
                    tiers[t] = tiers.get(t, 0) + c
        st["rows"] = total
    with rec.stage("drift"):
        psi = drift.result()
    plan = settled = None
    if run.at_latest:  # today's run, not a backfill: the loop moves on
        move_business_date(conn, as_of)
        with rec.stage("settle_outcomes") as st:
            settled = settle_outcomes(conn, last, as_of, settings.operations.outcome_window_days,
                                      settings.simulation.grace_days)
            st.update(settled)
        if refresh_statistics:
            _refresh_statistics(conn, as_of)
        with rec.stage("contact_plan") as st:
            plan = build_plan(conn, settings, as_of, model.version, rec.run_id, uplift).as_dict()
            st.update(plan)
    with rec.stage("fairness") as st:  # after the plan: the share in today's plan is one of its figures
        fairness = run_fairness(conn, settings, as_of, model.version)
        st["alerts"] = len(fairness["alerts"])
    with rec.stage("performance") as st:
        performance = record_expected(conn, settings, as_of, model.version, rec.run_id, psi, fairness)
        # every earlier run whose outcome window these data close gets its realised figures, once
        performance["realised"] = realise_closed_runs(conn, settings, last, last + timedelta(days=1))
        st["realised"] = performance["realised"]["realised"]
    # uplift_version: which effects chose the stored actions (scoring/stored.py serves a row only under them)
    rec.metrics.update({"as_of": str(as_of), "model_version": model.version, "uplift_version": uplift.version,
                        "rows": total, "tiers": tiers,
                        "psi": psi, "plan": plan, "settled": settled, "fairness": fairness,
                        "performance": performance})
    return NightlyResult(run_id=rec.run_id, as_of=as_of, model_version=model.version, rows=total,
                         shards=n_shards, rollup_days=rollup_days, tiers=tiers, psi=psi, stages=rec.stages,
                         plan=plan, settled=settled, fairness=fairness, performance=performance)


def model_baseline(conn: Connection, version: str) -> dict[str, Any]:
    """The PSI baseline stored with the model at training."""
    return conn.execute(text("SELECT baseline FROM model_versions WHERE version = :v"), {"v": version}).scalar_one()
