"""`pde nightly`: bring the rollup up to date, score every active customer with the champion, write risk_scores.

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
from functools import lru_cache
from typing import Any

import numpy as np
import polars as pl
from sqlalchemy import Connection, Engine, text

from predelinquency.db.bulk import copy_in, customer_filter, read_columns, read_frames, read_one_statement
from predelinquency.db.inputs import FeatureInputs, feature_input_queries, feature_inputs, input_queries
from predelinquency.db.rollup import latest_data_day, refresh_daily_balances
from predelinquency.db.runs import RunRecorder, recorded_run
from predelinquency.domain.daily import WINDOW_DAYS
from predelinquency.errors import PdeError
from predelinquency.features.build import feature_matrix
from predelinquency.features.registry import FEATURE_NAMES
from predelinquency.features.window import build_panel
from predelinquency.model.drift import DriftAccumulator
from predelinquency.model.pd_model import PDModel
from predelinquency.model.registry import load_model
from predelinquency.scoring.decide import as_frame, decide
from predelinquency.scoring.stored import (
    PREVIOUS_LOOKBACK_DAYS,
    bump_score_history,
    data_version,
    input_digests,
    settings_digest,
)
from predelinquency.settings import Settings
from predelinquency.table import Schema, Table

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


def bring_rollup_up_to_date(conn: Connection) -> tuple[int, date | None]:
    """(days added to daily_balances from newer transactions, usually one; the rollup's latest day after that).

    Returns the latest day too, so the caller need not scan daily_balances for it a second time.
    """
    last_daily = latest_data_day(conn)
    # only days after the rollup's last: partition pruning then skips every month already rolled up (asking
    # from its last day itself scanned that month's index, 115 s for 1 M customers on a cold cache)
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
    per partition. A hash bucket's rows are spread over every page, and with 1 M customers each of 20 shards
    read the whole 90-day window (16 GB) to keep its twentieth (bench/RESULTS.md).
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


_PREVIOUS_SCHEMA = {"customer_id": pl.Int64(), "prev_pd": pl.Float64(), "prev_tier": pl.String(),
                    "prev_score": pl.Float64()}


def _previous_query(only: str, as_of: str = "%(d)s") -> tuple[str, Schema]:
    """Each customer's latest score before as_of (SQL; within %(back)s days), for the customers `only` selects."""
    return ("SELECT DISTINCT ON (customer_id) customer_id, pd AS prev_pd, tier AS prev_tier, score AS prev_score "
            f"FROM risk_scores WHERE as_of < {as_of} AND as_of >= {as_of} - %(back)s AND {only} "
            "ORDER BY customer_id, as_of DESC, created_at DESC", _PREVIOUS_SCHEMA)


def load_scoring_inputs(conn: Connection, as_of: date, customer_ids: list[int], on_demand: bool = False
                        ) -> tuple[FeatureInputs, Table]:
    """(feature inputs, previous scores) of these customers at as_of: for a few customers, one round trip.

    on_demand: a few customers' rows come as Columns rather than frames (see features/table.py).
    """
    queries, params = feature_input_queries(as_of, as_of, customer_ids)
    only, _ = customer_filter(customer_ids)
    read = read_columns if on_demand else read_frames
    frames = read(conn, [*queries, _previous_query(only)], params | {"d": as_of, "back": PREVIOUS_LOOKBACK_DAYS})
    return feature_inputs(frames, params), frames[4]


# the day after the customer's latest data, computed once in the statement that reads at it
_LATEST_AS_OF = "(SELECT as_of FROM latest)"


def load_latest_scoring_inputs(conn: Connection, customer_id: int
                               ) -> tuple[date | None, FeatureInputs, Table] | None:
    """(as_of, feature inputs, previous scores) of one customer at the day after their latest data.

    None when the customer is unknown; as_of None when they have no daily data yet. One statement: the
    latest-day lookup and the five reads of load_scoring_inputs cost one round trip, not two.
    """
    only, params = customer_filter([customer_id])
    queries = [*input_queries(only, f"{_LATEST_AS_OF} - %(window)s", _LATEST_AS_OF, _LATEST_AS_OF),
               _previous_query(only, _LATEST_AS_OF)]
    latest = f"SELECT max(day) + 1 AS as_of FROM daily_balances WHERE {only}"
    as_of, tables = read_one_statement(conn, f"WITH latest AS MATERIALIZED ({latest})", _LATEST_AS_OF, queries,
                                       params | {"window": WINDOW_DAYS, "back": PREVIOUS_LOOKBACK_DAYS})
    daily, customers, accounts, payments, previous = tables
    if customers.height == 0:
        return None
    start = as_of - timedelta(days=WINDOW_DAYS) if as_of is not None else None
    return as_of, FeatureInputs(daily=daily, customers=customers, accounts=accounts, payments=payments,
                                start=start, end=as_of), previous


_REGISTRY_POSITION = {name: i for i, name in enumerate(FEATURE_NAMES)}


def model_columns(model: PDModel) -> np.ndarray:
    """Positions of the model's features among the registered ones; PdeError when this code lacks one."""
    try:
        return _positions(tuple(model.feature_names))
    except KeyError:
        missing = [n for n in model.feature_names if n not in _REGISTRY_POSITION]
        raise PdeError(f"model {model.version} needs features this code does not compute: "
                       f"{', '.join(missing[:5])}") from None


@lru_cache(maxsize=16)
def _positions(names: tuple[str, ...]) -> np.ndarray:
    """Registry positions of these names (KeyError for an unknown one), computed once per feature list
    (read-only: the result is shared)."""
    out = np.array([_REGISTRY_POSITION[n] for n in names], dtype=np.int64)
    out.flags.writeable = False
    return out


def score_ids(conn: Connection, settings: Settings, model: PDModel, as_of: date, customer_ids: np.ndarray,
              loaded: tuple[FeatureInputs, Table] | None = None
              ) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """(decide's columns, every registered feature's values by name) for these customers at as_of.

    loaded: load_scoring_inputs of exactly these customers (default: loaded here).
    """
    inputs, previous = loaded or load_scoring_inputs(conn, as_of, customer_ids.tolist())
    panel = build_panel(inputs.daily, customer_ids)
    matrix = feature_matrix(panel, as_of, inputs.customers, inputs.accounts, inputs.payments,
                            window_days=settings.features.window_days, grace_days=settings.simulation.grace_days)
    X = matrix[:, model_columns(model)]
    pd_, contrib = model.explain(X)
    by_name = dict(zip(FEATURE_NAMES, matrix.T, strict=True))
    decided = decide(panel.customer_ids, pd_, contrib, X, model.feature_names, by_name, inputs.accounts,
                     previous, as_of, settings)
    return decided, by_name


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
    # what lets later requests reuse the row (scoring/stored.py): the write count, the digest of the rows
    # scored, and each customer's latest data day (as_of - 1 makes it their default-as_of score; unknown in a
    # backfill, whose window ends before the customer's real latest data)
    last = (inputs.daily.group_by("customer_id").agg(pl.col("day").max().alias("last_data_day")) if at_latest
            else pl.DataFrame({"customer_id": ids, "last_data_day": pl.Series([None] * len(ids), dtype=pl.Date)}))
    digest_ids, digests = input_digests(inputs)
    rows = (rows.join(last, on="customer_id", how="left", maintain_order="left")
            .join(pl.DataFrame({"customer_id": digest_ids, "inputs_digest": digests}), on="customer_id", how="left",
                  maintain_order="left")
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
        return _nightly(conn, rec, settings, as_of)


def _nightly(conn: Connection, rec: RunRecorder, settings: Settings, as_of: date | None) -> NightlyResult:
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
    rec.metrics.update({"as_of": str(as_of), "model_version": model.version, "rows": total, "tiers": tiers,
                        "psi": psi})
    return NightlyResult(run_id=rec.run_id, as_of=as_of, model_version=model.version, rows=total,
                         shards=n_shards, rollup_days=rollup_days, tiers=tiers, psi=psi, stages=rec.stages)


def model_baseline(conn: Connection, version: str) -> dict[str, Any]:
    """The PSI baseline stored with the model at training."""
    return conn.execute(text("SELECT baseline FROM model_versions WHERE version = :v"), {"v": version}).scalar_one()
