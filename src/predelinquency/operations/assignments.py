"""Customer assignments: which officer owns a customer; reassignment ends the old row and starts a new one."""

from __future__ import annotations

from typing import Any, Final

from sqlalchemy import Connection, text

from predelinquency.db.audit import write_audit
from predelinquency.errors import Conflict, Forbidden
from predelinquency.operations._common import as_dict, concurrent_change_is_conflict, lock_customer
from predelinquency.operations.accounts import User
from predelinquency.operations.permissions import acting_user_id, allowed, allowed_roles, authorise
from predelinquency.operations.users import check_assignee


class _AnyOfficer:
    """Sentinel type: 'do not check who the customer is currently assigned to'."""

    def __repr__(self) -> str:
        return "ANY"


ANY: Final = _AnyOfficer()

_COLS = "assignment_id, customer_id, officer_id, assigned_by, assigned_at, ended_at, reason"


def current_assignment(conn: Connection, customer_id: int) -> dict[str, Any] | None:
    """The customer's current assignment row with the officer's username, or None when unassigned."""
    row = conn.execute(
        text("SELECT a.assignment_id, a.customer_id, a.officer_id, u.username AS officer, a.assigned_by, "
             "a.assigned_at, a.reason FROM customer_assignments a JOIN users u ON u.user_id = a.officer_id "
             "WHERE a.customer_id = :c AND a.ended_at IS NULL"), {"c": customer_id},
    ).first()
    return None if row is None else as_dict(row)


def assign_customer(
    conn: Connection,
    actor: User,
    customer_id: int,
    officer: str | int,
    reason: str | None = None,
    expected_current: int | _AnyOfficer | None = ANY,
) -> dict[str, Any]:
    """The new current assignment row (with 'officer' username and 'previous_officer_id').

    Anyone who may work the list takes an unassigned customer themselves; giving a customer to someone else or
    taking one from another officer needs assign_any (Forbidden otherwise).

    expected_current: the officer user_id the caller saw as current (None: saw it unassigned); when it is
    no longer so, Conflict. Leave it as ANY to reassign whoever holds the customer now.
    """
    actor = authorise(conn, actor, "assign_self")
    assigned_by = acting_user_id(actor)
    assignee = check_assignee(conn, actor, officer, "customers")
    reason = (reason or "").strip() or None
    conflict = f"customer {customer_id} was assigned by someone else at the same time; reload and try again"
    with concurrent_change_is_conflict(conflict), conn.begin_nested():
        lock_customer(conn, customer_id)  # serialises concurrent assigners of this customer
        before = current_assignment(conn, customer_id)
        current_id = before["officer_id"] if before else None
        if not isinstance(expected_current, _AnyOfficer) and current_id != expected_current:
            now_with = f"now assigned to {before['officer']}" if before else "now unassigned"
            raise Conflict(f"customer {customer_id} was reassigned by someone else ({now_with}); "
                           f"reload and try again")
        if current_id == assignee.user_id:
            raise Conflict(f"customer {customer_id} is already assigned to {assignee.username}")
        if current_id not in (None, actor.user_id) and not allowed(actor, "assign_any"):
            # taking over another officer's customer is a reassignment, a manager's decision
            raise Forbidden(f"customer {customer_id} is assigned to {before['officer']}; user {actor.username} has "
                            f"role {actor.role}, which may not take a customer assigned to someone else "
                            f"(action 'assign_any' needs role {' or '.join(allowed_roles('assign_any'))})")
        if before is not None:
            conn.execute(text("UPDATE customer_assignments SET ended_at = now() WHERE assignment_id = :id"),
                         {"id": before["assignment_id"]})
        row = conn.execute(
            text(f"INSERT INTO customer_assignments (customer_id, officer_id, assigned_by, reason) "
                 f"VALUES (:c, :o, :by, :r) RETURNING {_COLS}"),
            {"c": customer_id, "o": assignee.user_id, "by": assigned_by, "r": reason},
        ).one()
        after = {**as_dict(row), "officer": assignee.username}
        write_audit(conn, actor.username, "assign_customer", "customer", customer_id, before, after)
    return {**after, "previous_officer_id": current_id}


def assignments_of(conn: Connection, officer_id: int) -> list[int]:
    """The customer_ids currently assigned to this officer, ascending."""
    return list(conn.execute(
        text("SELECT customer_id FROM customer_assignments WHERE officer_id = :o AND ended_at IS NULL "
             "ORDER BY customer_id"), {"o": officer_id}).scalars())
