"""Serving a nightly score as the fresh one while nothing it was computed from has changed.

A customer's score depends on their rows in customers, accounts, payments and daily_balances, on the model,
the as_of date, the scoring settings and the previous score. Statement triggers count every write to those
four tables in `data_versions` (sql/003), and a nightly that writes an as_of earlier than the latest bumps the
count too (that changes later rows' previous scores). Each nightly row carries the count it was computed at
and the customer's latest data day then, and its run's params the digest of its settings. A stored row is returned
only when

- it is for the model version and as_of asked (no as_of: the day after the customer's latest data),
- its count is the current count, and
- its run used the settings this process has,

so it is exactly the row a fresh computation would produce, for one indexed read (~0.4 ms) instead of the
few ms of loading, features and TreeSHAP.

Once the count has moved on (an upload of payments, say), each row still carries a digest of the input rows it
was computed from: a customer whose inputs, loaded now, hash the same, and whose previous score is still the
one the row names, gets the stored row after one load instead of the whole computation. For the API's usual
request (one customer, no as_of) the row comes with the first read and the load brings the previous score,
so that check costs no read of its own (unchanged_latest); batches and explicit dates use stored_by_digest.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Sequence
from datetime import date
from typing import Any

import numpy as np
from sqlalchemy import Connection, RowMapping, text

from predelinquency.db.inputs import FeatureInputs
from predelinquency.scoring.digest import customer_digests
from predelinquency.settings import Settings
from predelinquency.table import Table, column

DATA_VERSION_SQL = "SELECT COALESCE(sum(version), 0) FROM data_versions"
# the risk_scores columns a scoring result carries (decide's output plus as_of and model_version)
RESULT_COLUMNS = ("customer_id", "as_of", "model_version", "pd", "score", "rating_band", "tier", "model_tier",
                  "prev_pd", "prev_tier", "score_change", "reasons", "exposure", "expected_loss",
                  "recommended_action", "expected_benefit", "urgency", "policy_rules")
_SELECT = f"SELECT {', '.join(RESULT_COLUMNS)}, batch_run_id"
_AT_SQL = text(_SELECT + " FROM risk_scores WHERE as_of = :as_of AND customer_id = ANY(CAST(:ids AS bigint[])) "
               f"AND model_version = :v AND data_version = ({DATA_VERSION_SQL})")
# the customer's newest row at the day after their latest data then, current or not: with nothing changed
# since, no other row can be current (rows written later carry a count at least as high)
_LATEST_SQL = text(_SELECT + f", inputs_digest, data_version = ({DATA_VERSION_SQL}) AS is_current FROM risk_scores "
                   "WHERE customer_id = :c AND last_data_day = as_of - 1 AND model_version = :v "
                   "ORDER BY as_of DESC LIMIT 1")

# how far back the previous score is looked for (nightly._previous_query; the digest check below must agree)
PREVIOUS_LOOKBACK_DAYS = 90
_DIGEST_SQL = text(
    f"SELECT {', '.join('r.' + c for c in RESULT_COLUMNS)}, r.batch_run_id FROM risk_scores r "
    "JOIN unnest(CAST(:ids AS bigint[]), CAST(:digests AS bigint[])) AS d(customer_id, digest) "
    "  ON d.customer_id = r.customer_id AND d.digest = r.inputs_digest "
    "LEFT JOIN LATERAL (SELECT p.pd, p.tier, p.score FROM risk_scores p WHERE p.customer_id = r.customer_id "
    "  AND p.as_of < r.as_of AND p.as_of >= r.as_of - CAST(:back AS integer) "
    "  ORDER BY p.as_of DESC, p.created_at DESC LIMIT 1) p ON true "
    "WHERE r.as_of = :as_of AND r.model_version = :v AND r.prev_pd IS NOT DISTINCT FROM p.pd "
    "AND r.prev_tier IS NOT DISTINCT FROM p.tier AND r.score_change IS NOT DISTINCT FROM r.score - p.score")

# (database, batch_run_id) -> the run's settings digest; a run's params never change, so each is read once
_run_digests: dict[tuple[str, int], str | None] = {}
_run_digests_lock = threading.Lock()


def data_version(conn: Connection) -> int:
    """The number of writes so far to the tables features read (any change makes stored scores stale)."""
    return int(conn.execute(text(DATA_VERSION_SQL)).scalar_one())


def bump_score_history(conn: Connection) -> None:
    """Marks every stored score stale: an earlier as_of is being (re)scored, which changes later previous scores."""
    conn.execute(text("UPDATE data_versions SET version = version + 1 WHERE table_name = 'risk_scores'"))


def settings_digest(settings: Settings) -> str:
    """A digest of every setting that shapes a scored row: feature window, scale, tiers, policy, costs, actions."""
    shaping = {
        "window_days": settings.features.window_days,
        "grace_days": settings.simulation.grace_days,
        "scoring": settings.scoring.model_dump(),
        "costs": settings.costs.model_dump(),
        "actions": {k: v.model_dump() for k, v in settings.actions.items()},
        "policy_rules": [r.model_dump() for r in settings.policy_rules],
    }
    return hashlib.sha256(json.dumps(shaping, sort_keys=True, default=str).encode()).hexdigest()[:32]


def _run_digest(conn: Connection, run_id: int) -> str | None:
    key = (conn.engine.url.render_as_string(), run_id)
    with _run_digests_lock:
        if key in _run_digests:
            return _run_digests[key]
    digest = conn.execute(text("SELECT params ->> 'settings_digest' FROM batch_runs WHERE run_id = :r"),
                          {"r": run_id}).scalar()
    with _run_digests_lock:
        _run_digests[key] = digest
    return digest


def stored_scores(conn: Connection, settings: Settings, model_version: str, as_of: date,
                  customer_ids: list[int]) -> dict[int, dict[str, Any]]:
    """customer_id -> the stored result at as_of, for those of customer_ids whose nightly score is still current."""
    rows = conn.execute(_AT_SQL, {"as_of": as_of, "v": model_version, "ids": list(customer_ids)}).mappings().all()
    return _current(conn, settings, rows)


def stored_latest(conn: Connection, settings: Settings, model_version: str,
                  customer_id: int) -> tuple[dict[int, dict[str, Any]], RowMapping | None]:
    """({customer_id: result} when the customer's score at the day after their latest data is stored and current,
    else {}; that row whether current or not, None when there is none).

    One indexed read: the API's usual request (one customer, no as_of) needs nothing else. A row that is not
    current may still be served once the customer's inputs are loaded: see unchanged_latest.
    """
    row = conn.execute(_LATEST_SQL, {"c": customer_id, "v": model_version}).mappings().first()
    if row is None:
        return {}, None
    return (_current(conn, settings, [row]) if row["is_current"] else {}), row


def unchanged_latest(conn: Connection, settings: Settings, row: RowMapping, as_of: date, inputs: FeatureInputs,
                     previous: Table) -> dict[int, dict[str, Any]]:
    """{customer_id: result} when stored_latest's row is what scoring the customer at as_of gives now, else {}.

    The checks of stored_by_digest, on what the one-statement read (nightly.load_latest_scoring_inputs) already
    brought: the row is for that as_of, the inputs hash as they did then, and its previous PD, tier and score
    change agree with the previous score found now (none, when there is none).
    """
    if row["as_of"] != as_of or row["inputs_digest"] != int(input_digests(inputs)[1][0]):
        return {}
    prev_pd = prev_tier = prev_score = None
    if previous.height:
        prev_pd = float(column(previous, "prev_pd")[0])
        prev_tier = str(column(previous, "prev_tier")[0])
        prev_score = int(column(previous, "prev_score")[0])
    change = None if prev_score is None else row["score"] - prev_score
    if (row["prev_pd"], row["prev_tier"], row["score_change"]) != (prev_pd, prev_tier, change):
        return {}
    return _current(conn, settings, [row])


def input_digests(inputs: FeatureInputs) -> tuple[np.ndarray, np.ndarray]:
    """(customer ids, their int64 inputs_digest) for every customer of inputs: any change to an input row
    changes the digest. The same for frames read through COPY and Columns read for one customer (digest.py).
    """
    ids = column(inputs.customers, "customer_id").astype(np.int64)
    digest = customer_digests(ids, (inputs.daily, inputs.customers, inputs.accounts, inputs.payments))
    return ids, digest.view(np.int64)


def stored_by_digest(conn: Connection, settings: Settings, model_version: str, as_of: date,
                     digests: tuple[np.ndarray, np.ndarray]) -> dict[int, dict[str, Any]]:
    """customer_id -> the stored result at as_of, for customers whose inputs and previous score are unchanged."""
    ids, values = digests
    if len(ids) == 0:
        return {}
    rows = conn.execute(_DIGEST_SQL, {"as_of": as_of, "v": model_version, "ids": ids.tolist(),
                                      "digests": values.tolist(),
                                      "back": PREVIOUS_LOOKBACK_DAYS}).mappings().all()
    return _current(conn, settings, rows)


def _current(conn: Connection, settings: Settings, rows: Sequence[RowMapping]) -> dict[int, dict[str, Any]]:
    """The rows whose run used these settings, as results marked source 'nightly'."""
    digest = settings_digest(settings) if rows else None
    return {r["customer_id"]: {**{c: r[c] for c in RESULT_COLUMNS}, "source": "nightly"} for r in rows
            if r["batch_run_id"] is not None and _run_digest(conn, r["batch_run_id"]) == digest}
