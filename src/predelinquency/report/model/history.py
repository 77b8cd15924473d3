"""The version's history the report reads: when it was champion, the nightly runs and performance recorded meanwhile,
and the champion when it was registered."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, text

from predelinquency.model.registry import get_version


def champion_periods(conn: Connection, row: dict[str, Any]) -> list[tuple[datetime, datetime | None]]:
    """When the version was champion: from registration (as the first model) or each promotion to it, until the
    promotion that replaced it (None: still champion)."""
    moves = conn.execute(text("SELECT version, previous_champion, promoted_at FROM model_promotions "
                              "WHERE version = :v OR previous_champion = :v ORDER BY promoted_at, promotion_id"),
                         {"v": row["version"]}).all()
    periods: list[tuple[datetime, datetime | None]] = []
    start: datetime | None = None
    first_was_demotion = bool(moves) and moves[0].version != row["version"]
    if first_was_demotion or (not moves and row["status"] == "champion"):
        start = row["created_at"]  # registered as the first model: champion from the start
    for m in moves:
        if m.version == row["version"]:
            start = m.promoted_at
        elif start is not None:
            periods.append((start, m.promoted_at))
            start = None
    if start is not None:
        periods.append((start, None))
    return periods


def champion_runs(conn: Connection, version: str,
                  periods: list[tuple[datetime, datetime | None]]) -> list[dict[str, Any]]:
    """The succeeded nightly runs scored with the version while it was champion, oldest first."""
    rows = conn.execute(text(
        "SELECT run_id, created_at, metrics FROM batch_runs WHERE kind = 'nightly' AND status = 'succeeded' "
        "AND metrics->>'model_version' = :v ORDER BY created_at, run_id"), {"v": version}).all()
    inside = [r for r in rows if any(s <= r.created_at and (e is None or r.created_at < e) for s, e in periods)]
    return [{"run_id": r.run_id, "created_at": r.created_at, **r.metrics} for r in inside]


def performance_runs(conn: Connection, version: str,
                     periods: list[tuple[datetime, datetime | None]]) -> list[dict[str, Any]]:
    """The version's run_performance rows (expected, and once known realised, AUC and default rate) recorded while
    it was champion, oldest first; none where that table does not exist yet."""
    if conn.execute(text("SELECT to_regclass('run_performance')")).scalar_one() is None:
        return []
    rows = conn.execute(text(
        "SELECT as_of, recorded_at, rows, expected_auc, expected_default_rate, labelled_rows, realised_auc, "
        "realised_default_rate FROM run_performance WHERE model_version = :v ORDER BY as_of"),
        {"v": version}).mappings().all()
    return [{**r, "as_of": r["as_of"].isoformat()} for r in rows
            if any(s <= r["recorded_at"] and (e is None or r["recorded_at"] < e) for s, e in periods)]


def champion_at(conn: Connection, row: dict[str, Any]) -> dict[str, Any] | None:
    """The registry row of the champion when the version was registered; None when it was the first model."""
    promoted = conn.execute(text("SELECT version FROM model_promotions WHERE promoted_at <= :t "
                                 "ORDER BY promoted_at DESC, promotion_id DESC LIMIT 1"),
                            {"t": row["created_at"]}).scalar_one_or_none()
    if promoted is None:  # no promotion yet: the first model registered was champion
        promoted = conn.execute(text("SELECT version FROM model_versions WHERE created_at < :t "
                                     "ORDER BY created_at, version LIMIT 1"),
                                {"t": row["created_at"]}).scalar_one_or_none()
    if promoted is None or promoted == row["version"]:
        return None
    return get_version(conn, promoted)
