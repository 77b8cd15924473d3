"""Appending to action_audit_log: who did what, when, with the before and after state as JSON. Every layer
that changes something writes its row here, in the transaction of the change (the log is append-only in the
database, and hash-chained by its trigger)."""

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
