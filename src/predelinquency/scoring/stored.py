"""Serving a nightly score as the fresh one while nothing it was computed from has changed.

A customer's score depends on their rows in customers, accounts, payments and daily_balances, on the model,
the as_of date, the scoring settings and the previous score. Statement triggers count every write to those
four tables in `data_versions` (sql/003), and a nightly that writes an as_of earlier than the latest bumps the
count too (that changes later rows' previous scores). Each nightly row carries the count it was computed at
and the customer's latest data day then, and its run's params the digest of its settings. A stored row is
returned only when

- it is for the model version and as_of asked (no as_of: the day after the customer's latest data),
- its count is the current count, and
- its run used the settings this process has, and
- its run chose the actions with the uplift model this request uses (the run's metrics name it),

so it is exactly the row a fresh computation would produce, for one indexed read. After any write, every
customer is computed until the next nightly.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy import Connection, text

from predelinquency.db.bulk import customer_filter, fetch_all
from predelinquency.settings import Settings

DATA_VERSION_SQL = "SELECT COALESCE(sum(version), 0) FROM data_versions"
# the risk_scores columns a scoring result carries (decide's output plus as_of and model_version)
RESULT_COLUMNS = ("customer_id", "as_of", "model_version", "pd", "score", "rating_band", "tier", "model_tier",
                  "prev_pd", "prev_tier", "score_change", "reasons", "exposure", "expected_loss",
                  "recommended_action", "expected_benefit", "uplift", "action_uplift", "urgency", "policy_rules")
_STORED_SQL = (f"SELECT {', '.join(RESULT_COLUMNS)}, batch_run_id FROM risk_scores WHERE {{only}} "
               f"AND model_version = %(v)s AND data_version = ({DATA_VERSION_SQL}) AND {{day}}")
# with nothing changed since the nightly, its row is at the day after the customer's latest data exactly when
# the customer's latest day then was the day before the row's as_of
_AT_LATEST = "last_data_day = as_of - 1"
_AT_AS_OF = "as_of = %(as_of)s"

# (database, batch_run_id) -> the run's (settings digest, uplift version); read once a run has finished (a finished
# run's params and metrics never change)
_run_digests: dict[tuple[str, int], tuple[str | None, str | None]] = {}
_run_digests_lock = threading.Lock()


def data_version(conn: Connection) -> int:
    """The number of writes so far to the tables features read (any change makes stored scores stale)."""
    return int(conn.execute(text(DATA_VERSION_SQL)).scalar_one())


def bump_score_history(conn: Connection) -> None:
    """Marks every stored score stale: an earlier as_of is being (re)scored, which changes later previous scores."""
    conn.execute(text("UPDATE data_versions SET version = version + 1 WHERE table_name = 'risk_scores'"))


def settings_digest(settings: Settings) -> str:
    """A digest of every setting that shapes a scored row: grace days, scale, tiers, policy, costs, actions."""
    shaping = {
        "grace_days": settings.simulation.grace_days,
        "scoring": settings.scoring.model_dump(),
        "costs": settings.costs.model_dump(),
        "actions": {k: v.model_dump() for k, v in settings.actions.items()},
        "policy_rules": [r.model_dump() for r in settings.policy_rules],
    }
    return hashlib.sha256(json.dumps(shaping, sort_keys=True, default=str).encode()).hexdigest()[:32]


def _run_digest(conn: Connection, run_id: int) -> tuple[str | None, str | None]:
    key = (conn.engine.url.render_as_string(), run_id)
    with _run_digests_lock:
        if key in _run_digests:
            return _run_digests[key]
    row = conn.execute(text("SELECT params ->> 'settings_digest', metrics ->> 'uplift_version', status "
                            "FROM batch_runs WHERE run_id = :r"), {"r": run_id}).first()
    found = (row[0], row[1]) if row else (None, None)
    if row is not None and row[2] != "running":  # a running run's metrics are written when it ends
        with _run_digests_lock:
            _run_digests[key] = found
    return found


def stored_scores(conn: Connection, settings: Settings, model_version: str, customer_ids: Sequence[int],
                  as_of: date | None = None, uplift_version: str | None = None) -> dict[int, dict[str, Any]]:
    """customer_id -> the stored result, for those of customer_ids whose nightly score is still current.

    as_of None: the score at the day after each customer's latest data. uplift_version: the uplift model the
    caller decides with (None: the configured prior).
    """
    only, params = customer_filter(customer_ids)
    query = _STORED_SQL.format(only=only, day=_AT_LATEST if as_of is None else _AT_AS_OF)
    rows = fetch_all(conn, query, params | {"v": model_version, "as_of": as_of})
    wanted = (settings_digest(settings), uplift_version) if rows else None
    return {r[0]: {**dict(zip(RESULT_COLUMNS, r, strict=False)), "source": "nightly"} for r in rows
            if r[-1] is not None and _run_digest(conn, r[-1]) == wanted}
