"""Interventions: creation with contact cool-down, duplicate check and SLA; status changes with optimistic locking."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import Connection, text

from predelinquency.db.audit import write_audit
from predelinquency.db.calendar import business_date
from predelinquency.domain.vocabulary import CONTACT_CHANNELS, INTERVENTION_TYPES
from predelinquency.errors import Conflict, NotFound, PdeError
from predelinquency.operations._common import as_dict, concurrent_change_is_conflict, lock_customer
from predelinquency.operations.accounts import User
from predelinquency.operations.holdout import active_holdout, refuse_if_held_out, release_from_holdout
from predelinquency.operations.permissions import acting_user_id, authorise
from predelinquency.operations.users import check_assignee
from predelinquency.settings import Settings

STATUSES = ("open", "in_progress", "completed", "cancelled")
OPEN_STATUSES = ("open", "in_progress")
# status changes an officer can make directly; 'completed' is reached by recording an outcome
TRANSITIONS = {"open": ("in_progress", "cancelled"), "in_progress": ("open", "cancelled")}

COLUMNS = ("intervention_id, customer_id, intervention_type, channel, status, risk_as_of, pd_at_action, "
           "expected_benefit, assigned_to, created_by, business_date, created_at, due_at, updated_at, notes, "
           "row_version, outcome_due_date, payment_outcome, settled_on")


def _choice(value: str, allowed: tuple[str, ...], what: str) -> str:
    if value not in allowed:
        raise PdeError(f"unknown {what} {value!r}; choose one of {', '.join(allowed)}")
    return value


def latest_risk(conn: Connection, customer_id: int) -> dict[str, Any] | None:
    """The customer's newest risk_scores row (as_of, pd, tier, expected_benefit, model_version), or None."""
    # on a day scored by several models, the champion's score is the one officers see
    row = conn.execute(
        text("SELECT rs.as_of, rs.pd, rs.tier, rs.expected_benefit, rs.model_version FROM risk_scores rs "
             "LEFT JOIN model_versions mv ON mv.version = rs.model_version "
             "WHERE rs.customer_id = :c "
             "ORDER BY rs.as_of DESC, (mv.status = 'champion') DESC NULLS LAST, rs.created_at DESC LIMIT 1"),
        {"c": customer_id},
    ).first()
    return None if row is None else as_dict(row)


def create_intervention(
    conn: Connection,
    actor: User,
    customer_id: int,
    intervention_type: str,
    channel: str,
    settings: Settings,
    notes: str | None = None,
    assigned_to: int | None = None,
    release_reason: str | None = None,
) -> dict[str, Any]:
    """The new open intervention row, made on today's business date; NotFound for an unknown customer,
    Conflict within the cool-down, for a duplicate, or for a customer in the control group (unless a manager
    gives `release_reason`, which releases them from it first)."""
    actor = authorise(conn, actor, "create_intervention")
    created_by = acting_user_id(actor)
    _choice(intervention_type, INTERVENTION_TYPES, "intervention type")
    _choice(channel, CONTACT_CHANNELS, "channel")
    allowed_channels = settings.operations.action_channels[intervention_type]
    if channel not in allowed_channels:
        raise PdeError(f"a {intervention_type} goes by {' or '.join(allowed_channels)}, not {channel} "
                       "(operations.action_channels)")
    notes = (notes or "").strip() or None
    with concurrent_change_is_conflict(f"customer {customer_id} was changed by someone else; reload and try again"), \
            conn.begin_nested():
        lock_customer(conn, customer_id)
        if assigned_to is not None:
            check_assignee(conn, actor, assigned_to, "interventions")
        if release_reason is not None and active_holdout(conn, customer_id, settings) is not None:
            release_from_holdout(conn, actor, customer_id, release_reason, settings)
        refuse_if_held_out(conn, customer_id, settings)
        today = business_date(conn)
        duplicate = conn.execute(
            text("SELECT intervention_id, status FROM interventions WHERE customer_id = :c AND intervention_type = :t "
                 "AND status = ANY(:open) ORDER BY created_at DESC LIMIT 1"),
            {"c": customer_id, "t": intervention_type, "open": list(OPEN_STATUSES)},
        ).first()
        if duplicate is not None:
            raise Conflict(f"customer {customer_id} already has an open {intervention_type} "
                           f"(intervention {duplicate.intervention_id}, {duplicate.status})")
        cooldown = settings.operations.contact_cooldown_days
        last = conn.execute(
            text("SELECT intervention_id, intervention_type, business_date FROM interventions "
                 "WHERE customer_id = :c AND status <> 'cancelled' "
                 "ORDER BY business_date DESC, created_at DESC, intervention_id DESC LIMIT 1"), {"c": customer_id},
        ).first()
        # cool-downs count business days: on the synthetic bank the business date moves with the data
        if cooldown > 0 and last is not None and last.business_date + timedelta(days=cooldown) > today:
            allowed_on = last.business_date + timedelta(days=cooldown)
            raise Conflict(
                f"customer {customer_id} was last contacted on {last.business_date} "
                f"(intervention {last.intervention_id}, {last.intervention_type}); the contact cool-down is "
                f"{cooldown} days, so a new contact is allowed from {allowed_on}")
        limit = settings.operations.max_contacts_per_30_days
        if limit > 0:
            recent = conn.execute(text(
                "SELECT count(*) FROM interventions WHERE customer_id = :c AND status <> 'cancelled' "
                "AND business_date > CAST(:d AS date) - 30"), {"c": customer_id, "d": today}).scalar_one()
            if recent >= limit:
                raise Conflict(f"customer {customer_id} was contacted {recent} times in the last 30 days; the "
                               f"contact policy allows {limit} (operations.max_contacts_per_30_days)")
        risk = latest_risk(conn, customer_id)
        tier = risk["tier"] if risk else "Low"
        sla_hours = settings.operations.sla_hours.get(tier)
        if sla_hours is None:
            raise PdeError(f"operations.sla_hours in the settings has no entry for tier {tier}")
        row = conn.execute(
            text(f"INSERT INTO interventions (customer_id, intervention_type, channel, status, risk_as_of, "
                 f"pd_at_action, expected_benefit, assigned_to, created_by, business_date, due_at, notes) "
                 f"VALUES (:c, :t, :ch, 'open', :as_of, :pd, :eb, :assigned, :by, :today, "
                 f"pde_business_now() + make_interval(hours => :sla), :notes) RETURNING {COLUMNS}"),
            {"c": customer_id, "t": intervention_type, "ch": channel,
             "as_of": risk["as_of"] if risk else None, "pd": risk["pd"] if risk else None,
             "eb": risk["expected_benefit"] if risk else None, "assigned": assigned_to, "by": created_by,
             "sla": sla_hours, "notes": notes, "today": today},
        ).one()
        created = as_dict(row)
        write_audit(conn, actor.username, "create_intervention", "intervention", created["intervention_id"],
                    None, created, {"tier": tier, "sla_hours": sla_hours})
    return created


def update_intervention_status(
    conn: Connection, actor: User, intervention_id: int, status: str, expected_version: int
) -> dict[str, Any]:
    """The updated intervention row; Conflict when someone changed it since the caller read expected_version."""
    actor = authorise(conn, actor, "update_intervention")
    _choice(status, STATUSES, "status")
    if status == "completed":
        raise PdeError(f"record an outcome to complete intervention {intervention_id}")
    with conn.begin_nested():
        # the row lock makes a concurrent second update wait, then see the new row_version and refuse
        before = conn.execute(text(f"SELECT {COLUMNS} FROM interventions WHERE intervention_id = :id FOR UPDATE"),
                              {"id": intervention_id}).first()
        if before is None:
            raise NotFound(f"intervention {intervention_id} does not exist")
        if before.row_version != expected_version:
            raise Conflict(f"intervention {intervention_id} was changed by someone else; reload and try again")
        if status not in TRANSITIONS.get(before.status, ()):
            raise Conflict(f"intervention {intervention_id} is {before.status} and cannot become {status}")
        row = conn.execute(
            text(f"UPDATE interventions SET status = :s, row_version = row_version + 1, updated_at = now() "
                 f"WHERE intervention_id = :id AND row_version = :v RETURNING {COLUMNS}"),
            {"s": status, "id": intervention_id, "v": expected_version},
        ).first()
        if row is None:  # unreachable while the lock above is held; kept as the guarantee itself
            raise Conflict(f"intervention {intervention_id} was changed by someone else; reload and try again")
        after = as_dict(row)
        write_audit(conn, actor.username, "update_intervention_status", "intervention", intervention_id,
                    as_dict(before), after)
    return after


def get_intervention(conn: Connection, intervention_id: int) -> dict[str, Any]:
    """The intervention row; NotFound otherwise."""
    row = conn.execute(text(f"SELECT {COLUMNS} FROM interventions WHERE intervention_id = :id"),
                       {"id": intervention_id}).first()
    if row is None:
        raise NotFound(f"intervention {intervention_id} does not exist")
    return as_dict(row)


def list_interventions(
    conn: Connection,
    customer_id: int | None = None,
    status: str | list[str] | None = None,
    assigned_to: int | None = None,
    limit: int = 200,
) -> list[dict[str, Any]]:
    """Intervention rows, newest first, filtered by customer, status(es) and assignee; at most `limit`."""
    clauses, params = [], {"limit": max(1, min(int(limit), 10_000))}
    if customer_id is not None:
        clauses.append("customer_id = :c")
        params["c"] = customer_id
    if status is not None:
        clauses.append("status = ANY(:s)")
        params["s"] = [status] if isinstance(status, str) else list(status)
    if assigned_to is not None:
        clauses.append("assigned_to = :a")
        params["a"] = assigned_to
    where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
    rows = conn.execute(text(f"SELECT {COLUMNS} FROM interventions {where} "
                             f"ORDER BY created_at DESC, intervention_id DESC LIMIT :limit"), params)
    return [as_dict(r) for r in rows]
