"""Real-time Monitor and Data Management reads: score changes, batch runs, activity, alerts, drift, performance."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import pandas as pd
import streamlit as st

from dashboard.queries.core import MAX_ROWS, engine, frame, row, settings
from predelinquency.db.runs import ACTIVE, STALE_ERROR, job_running
from predelinquency.domain.vocabulary import TIERS
from predelinquency.operations.audit import verify_chain
from predelinquency.scoring.performance import monitor_report

# the monitor refreshes every 30 s; its reads live a little less so each refresh sees new data
TTL_LIVE = 20


@st.cache_data(ttl=TTL_LIVE, show_spinner=False)
def score_changes(as_of: date, version: str, limit: int = 50) -> pd.DataFrame:
    """Customers whose tier changed or whose score moved by 20+ points in the latest run, biggest moves first."""
    return frame("""
        SELECT rs.customer_id, c.full_name, rs.prev_tier, rs.tier, rs.prev_pd, rs.pd, rs.score_change,
               rs.reasons -> 0 ->> 'text' AS top_reason
        FROM risk_scores rs JOIN customers c ON c.customer_id = rs.customer_id
        WHERE rs.as_of = :as_of AND rs.model_version = :v AND rs.prev_pd IS NOT NULL
              AND (rs.tier IS DISTINCT FROM rs.prev_tier OR abs(rs.score_change) >= 20)
        ORDER BY abs(rs.pd - rs.prev_pd) DESC LIMIT :n""", as_of=as_of, v=version, n=limit)


@st.cache_data(ttl=TTL_LIVE, show_spinner=False)
def tier_jumps(as_of: date, version: str) -> dict[str, int]:
    """Customers who moved up a tier in the latest run: into Critical, by two tiers or more, and in all."""
    r = row("""
        WITH r AS (SELECT tier, prev_tier,
                          array_position(CAST(:tiers AS text[]), tier) AS t,
                          array_position(CAST(:tiers AS text[]), prev_tier) AS p
                   FROM risk_scores WHERE as_of = :as_of AND model_version = :v AND prev_tier IS NOT NULL)
        SELECT count(*) FILTER (WHERE t > p) AS up, count(*) FILTER (WHERE t - p >= 2) AS two_or_more,
               count(*) FILTER (WHERE tier = :top AND prev_tier <> :top) AS into_critical FROM r""",
            as_of=as_of, v=version, tiers=list(TIERS), top=TIERS[-1])
    return {k: int(v or 0) for k, v in r.items()}


def runs(kind: str | None = None, limit: int = 30) -> pd.DataFrame:
    """Batch runs, newest first, with duration in seconds (uncached: jobs change by the second)."""
    return frame("""
        SELECT run_id, kind, status, triggered_by, progress, message, created_at, started_at, finished_at,
               extract(epoch FROM coalesce(finished_at, now()) - coalesce(started_at, created_at)) AS seconds,
               error, params
        FROM batch_runs WHERE (CAST(:kind AS text) IS NULL OR kind = :kind)
        ORDER BY created_at DESC, run_id DESC LIMIT :n""", kind=kind, n=min(limit, MAX_ROWS))


def job_is_running(kind: str) -> bool:
    """Whether a live process holds the kind's run lock (a 'running' row alone may be a killed job's)."""
    with engine().connect() as conn:
        return job_running(conn, kind)


def run_detail(run_id: int) -> dict[str, Any]:
    """One batch run with its log, stages and metrics (uncached: a running job's log grows); a run whose process
    died reads as failed, as db.runs.latest_run says."""
    def read() -> dict[str, Any]:
        return row("SELECT run_id, kind, status, triggered_by, progress, message, log, error, stages, metrics, "
                   "params, created_at, started_at, finished_at FROM batch_runs WHERE run_id = :id", id=run_id)

    detail = read()
    if detail and detail["status"] in ACTIVE and not job_is_running(detail["kind"]):
        detail = read()  # it may have finished between the two reads: it writes its row before it unlocks
        if detail["status"] in ACTIVE:
            detail = {**detail, "status": "failed", "error": STALE_ERROR}
    return detail


@st.cache_data(ttl=TTL_LIVE, show_spinner=False)
def recent_runs(limit: int = 20) -> pd.DataFrame:
    """Batch runs for the monitor (cached for its refresh interval)."""
    return runs(None, limit)


@st.cache_data(ttl=TTL_LIVE, show_spinner=False)
def failed_runs(days: int = 7) -> pd.DataFrame:
    """Runs that failed in the last `days`, newest first."""
    return frame("""
        SELECT run_id, kind, triggered_by, finished_at, error FROM batch_runs
        WHERE status = 'failed' AND created_at > now() - make_interval(days => :d)
        ORDER BY created_at DESC LIMIT 20""", d=days)


@st.cache_data(ttl=TTL_LIVE, show_spinner=False)
def activity(actor: str | None, limit: int = 50) -> pd.DataFrame:
    """The newest audit rows (only this actor's when given): when, who, what, on which entity."""
    return frame("""
        SELECT at, actor, action, entity, entity_id, details FROM action_audit_log
        WHERE (CAST(:actor AS text) IS NULL OR actor = :actor)
        ORDER BY at DESC, audit_id DESC LIMIT :n""", actor=actor, n=min(limit, MAX_ROWS))


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _psi_of(metrics: Any) -> dict[str, Any]:
    """{'score': float|None, 'features': {name: float}} from a nightly run's metrics, whatever its shape."""
    if isinstance(metrics, str):
        try:
            metrics = json.loads(metrics)
        except ValueError:
            return {"score": None, "features": {}}
    psi = metrics.get("psi") if isinstance(metrics, dict) else None
    if not isinstance(psi, dict):
        return {"score": None, "features": {}}
    score = psi.get("score")
    features = psi.get("features") if isinstance(psi.get("features"), dict) else {}
    return {"score": _number(score),
            "features": {str(k): _number(v) for k, v in features.items() if _number(v) is not None}}


@st.cache_data(ttl=TTL_LIVE, show_spinner=False)
def latest_psi() -> dict[str, Any]:
    """PSI of the newest successful nightly run that recorded one: run_id, finished_at, score, features."""
    rows = frame("SELECT run_id, finished_at, metrics FROM batch_runs WHERE kind = 'nightly' "
                 "AND status = 'succeeded' AND metrics ? 'psi' ORDER BY created_at DESC LIMIT 1")
    if rows.empty:
        return {}
    r = rows.iloc[0]
    return {"run_id": int(r["run_id"]), "finished_at": r["finished_at"], **_psi_of(r["metrics"])}


@st.cache_data(ttl=TTL_LIVE, show_spinner=False)
def psi_history(limit: int = 30) -> pd.DataFrame:
    """Score PSI per successful nightly run (oldest first) and the worst feature PSI of each run."""
    rows = frame("SELECT run_id, finished_at, metrics FROM batch_runs WHERE kind = 'nightly' "
                 "AND status = 'succeeded' AND metrics ? 'psi' ORDER BY created_at DESC LIMIT :n", n=limit)
    out = []
    for r in rows.itertuples():
        p = _psi_of(r.metrics)
        worst = max(p["features"].items(), key=lambda kv: kv[1], default=(None, None))
        out.append({"run_id": r.run_id, "finished_at": r.finished_at, "score_psi": p["score"],
                    "worst_feature": worst[0], "worst_feature_psi": worst[1]})
    return pd.DataFrame(out, columns=["run_id", "finished_at", "score_psi", "worst_feature", "worst_feature_psi"]
                        ).iloc[::-1].reset_index(drop=True)


# the page checks the newest rows, cheap whatever the trail's length; `pde audit verify` checks all of it
AUDIT_ROWS_CHECKED = 20_000


@st.cache_data(ttl=TTL_LIVE, show_spinner=False)
def audit_chain() -> dict[str, Any]:
    """The audit trail's newest rows checked against their hash chain (operations.audit.verify_chain)."""
    with engine().connect() as conn:
        return verify_chain(conn, last_rows=AUDIT_ROWS_CHECKED)


@st.cache_data(ttl=TTL_LIVE, show_spinner=False)
def performance() -> dict[str, Any]:
    """scoring.performance.monitor_report: each nightly run's expected and realised figures and drift, newest
    first, and the retrain and fairness alerts they raise."""
    with engine().connect() as conn:
        return monitor_report(conn, settings())
