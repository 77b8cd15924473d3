"""Customer snoozes: take a customer off the worklist until a date, for a stated reason."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, text

from predelinquency.db.audit import write_audit
from predelinquency.db.calendar import business_date
from predelinquency.errors import PdeError
from predelinquency.operations._common import as_dict, lock_customer
from predelinquency.operations.accounts import User
from predelinquency.operations.permissions import acting_user_id, authorise

# a longer snooze hides a customer past several scoring cycles: that is a policy decision, not a snooze
MAX_SNOOZE_DAYS = 90

_COLS = "snooze_id, customer_id, until, reason, created_by, created_at"


def active_snooze(conn: Connection, customer_id: int) -> dict[str, Any] | None:
    """The customer's snooze that lasts longest from today on, or None when not snoozed."""
    row = conn.execute(
        text(f"SELECT {_COLS} FROM customer_snoozes WHERE customer_id = :c AND until >= pde_business_date() "
             f"ORDER BY until DESC, snooze_id DESC LIMIT 1"), {"c": customer_id},
    ).first()
    return None if row is None else as_dict(row)


def snooze_customer(conn: Connection, actor: User, customer_id: int, until: date, reason: str) -> dict[str, Any]:
    """The new snooze row; PdeError when the reason is empty or until is not 1–MAX_SNOOZE_DAYS days ahead."""
    actor = authorise(conn, actor, "snooze_customer")
    created_by = acting_user_id(actor)
    if isinstance(until, datetime):
        until = until.date()
    if not isinstance(until, date):
        raise PdeError(f"snooze until must be a date, not {until!r}")
    reason = (reason or "").strip()
    if not reason:
        raise PdeError(f"a reason is required to snooze customer {customer_id}")
    with conn.begin_nested():
        # the business date, so the dashboard, API, nightly and tests agree on what "today" is
        today = business_date(conn)
        if until <= today:
            raise PdeError(f"snooze until {until} is not in the future (today is {today})")
        latest = today + timedelta(days=MAX_SNOOZE_DAYS)
        if until > latest:
            raise PdeError(f"snooze until {until} is too far ahead: at most {MAX_SNOOZE_DAYS} days, i.e. {latest}")
        lock_customer(conn, customer_id)
        before = active_snooze(conn, customer_id)
        row = conn.execute(
            text(f"INSERT INTO customer_snoozes (customer_id, until, reason, created_by) "
                 f"VALUES (:c, :u, :r, :by) RETURNING {_COLS}"),
            {"c": customer_id, "u": until, "r": reason, "by": created_by},
        ).one()
        after = as_dict(row)
        write_audit(conn, actor.username, "snooze_customer", "customer", customer_id, before, after)
    return after
