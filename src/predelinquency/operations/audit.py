"""action_audit_log: who did what, when, with the before and after state as JSON (append-only in the database)."""

from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, text


def _json_default(value: Any) -> Any:
    # rows read back from the database carry timestamps and numerics; the audit trail stores them as JSON
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    return str(value)


def to_json(value: dict[str, Any] | None) -> str | None:
    """The JSON text stored for a before/after/details value (None stays SQL NULL)."""
    return None if value is None else json.dumps(value, default=_json_default)


def write_audit(
    conn: Connection,
    actor: str,
    action: str,
    entity: str,
    entity_id: Any,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
    details: dict[str, Any] | None = None,
) -> int:
    """The audit_id of a new audit row, written on conn (so it commits or rolls back with the change)."""
    return conn.execute(
        text("INSERT INTO action_audit_log (actor, action, entity, entity_id, before, after, details) "
             "VALUES (:actor, :action, :entity, :entity_id, CAST(:before AS jsonb), CAST(:after AS jsonb), "
             "CAST(:details AS jsonb)) RETURNING audit_id"),
        {
            # the actor may be a username typed at the login form: bounded so junk cannot bloat the log
            "actor": str(actor)[:200],
            "action": action,
            "entity": entity,
            "entity_id": None if entity_id is None else str(entity_id),
            "before": to_json(before),
            "after": to_json(after),
            "details": to_json(details),
        },
    ).scalar_one()


def recent_audit(
    conn: Connection, limit: int = 50, entity: str | None = None, entity_id: Any = None
) -> list[dict[str, Any]]:
    """The newest audit rows first (at most `limit`), optionally only those about one entity or one entity row."""
    clauses, params = [], {"limit": max(1, min(int(limit), 10_000))}
    if entity is not None:
        clauses.append("entity = :entity")
        params["entity"] = entity
    if entity_id is not None:
        clauses.append("entity_id = :entity_id")
        params["entity_id"] = str(entity_id)
    where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
    rows = conn.execute(
        text(f"SELECT audit_id, at, actor, action, entity, entity_id, before, after, details "
             f"FROM action_audit_log {where} ORDER BY at DESC, audit_id DESC LIMIT :limit"),
        params,
    )
    return [dict(r._mapping) for r in rows]


# Each row's hash is recomputed from its content and the previous row's hash (sql/008_audit_chain.sql); the first
# row whose stored hashes disagree, whose link to the row before it is broken, or whose sequence number skips one,
# is where the trail was changed. :lo limits the check to the rows from that sequence number on (the row before it
# is read for its hash).
_VERIFY_SQL = text("""
WITH chain AS (
    SELECT a.seq, a.audit_id, a.at, a.actor, a.action, a.prev_hash, a.row_hash,
           COALESCE(lag(a.row_hash) OVER w, pde_audit_genesis()) AS expected_prev,
           COALESCE(lag(a.seq) OVER w, 0) + 1 AS expected_seq,
           sha256(a.prev_hash || pde_audit_content(a)) AS recomputed
    FROM action_audit_log a
    WHERE a.seq >= :lo - 1
    WINDOW w AS (ORDER BY a.seq)
), broken AS (
    SELECT seq, audit_id, at, actor, action,
           CASE WHEN recomputed <> row_hash THEN 'its content does not match its hash (the row was changed)'
                WHEN prev_hash <> expected_prev THEN 'it does not follow the row before it (a row was removed or '
                                                     'inserted out of turn)'
                ELSE 'its sequence number skips one (a row before it was removed)' END AS problem
    FROM chain
    WHERE seq >= :lo AND (recomputed <> row_hash OR prev_hash <> expected_prev OR seq <> expected_seq)
    ORDER BY seq LIMIT 1
)
SELECT (SELECT count(*) FROM chain WHERE seq >= :lo) AS rows,
       (SELECT row_to_json(b) FROM broken b) AS first_broken,
       (SELECT json_build_object('seq', seq, 'hash', encode(row_hash, 'hex'))
          FROM action_audit_log ORDER BY seq DESC LIMIT 1) AS head
""")


def verify_chain(conn: Connection, last_rows: int | None = None) -> dict[str, Any]:
    """{'rows' checked, 'intact', 'first_broken' (None or the row and its problem), 'head' ({'seq', 'hash'})}.

    last_rows: check only the newest rows (a page's quick look); None checks the whole trail. A trail cut short
    at its end still verifies: compare 'head' with a copy kept elsewhere (a ticket, the run log) to see that too.
    """
    lo = 1
    if last_rows is not None:
        newest = conn.execute(text("SELECT COALESCE(max(seq), 0) FROM action_audit_log")).scalar_one()
        lo = max(1, newest - last_rows + 1)
    row = conn.execute(_VERIFY_SQL, {"lo": lo}).mappings().one()
    return {"rows": int(row["rows"]), "intact": row["first_broken"] is None,
            "first_broken": row["first_broken"], "head": row["head"]}
