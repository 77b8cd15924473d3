"""Reading action_audit_log: the newest rows, and verifying its hash chain (rows are written by db/audit.py)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, text


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
