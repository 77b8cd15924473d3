"""Intervention outcomes: what happened after an intervention; recording one completes the intervention."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import Connection, text

from predelinquency.errors import Conflict, NotFound, PdeError
from predelinquency.operations._common import as_dict, concurrent_change_is_conflict
from predelinquency.operations.accounts import User
from predelinquency.operations.audit import write_audit
from predelinquency.operations.interventions import COLUMNS as INTERVENTION_COLS
from predelinquency.operations.permissions import acting_user_id, authorise

OUTCOMES = ("paid", "promise_to_pay", "restructured", "no_response", "refused", "defaulted")
# outcomes that count as a default prevented unless the officer says otherwise (feeds retraining and uplift)
PREVENTING_OUTCOMES = frozenset({"paid", "promise_to_pay", "restructured"})

_COLS = ("outcome_id, intervention_id, outcome, responded_at, prevented_default, amount_recovered, "
         "recorded_by, recorded_at, notes")


def _amount(value: Any) -> Decimal:
    try:
        amount = Decimal(str(value))
    except (InvalidOperation, ValueError) as exc:
        raise PdeError(f"amount recovered {value!r} is not a number") from exc
    if not amount.is_finite() or amount < 0:
        raise PdeError(f"amount recovered must be zero or more, not {value}")
    return amount


def get_outcome(conn: Connection, intervention_id: int) -> dict[str, Any] | None:
    """The outcome row of this intervention, or None when none was recorded."""
    row = conn.execute(text(f"SELECT {_COLS} FROM intervention_outcomes WHERE intervention_id = :id"),
                       {"id": intervention_id}).first()
    return None if row is None else as_dict(row)


def record_outcome(
    conn: Connection,
    actor: User,
    intervention_id: int,
    outcome: str,
    responded_at: datetime | date | None = None,
    amount_recovered: float | Decimal = 0,
    notes: str | None = None,
    prevented_default: bool | None = None,
) -> dict[str, Any]:
    """The outcome row plus 'intervention' (now completed, row_version bumped); Conflict for a second outcome."""
    actor = authorise(conn, actor, "record_outcome")
    recorded_by = acting_user_id(actor)
    if outcome not in OUTCOMES:
        raise PdeError(f"unknown outcome {outcome!r}; choose one of {', '.join(OUTCOMES)}")
    amount = _amount(amount_recovered)
    if prevented_default is None:
        prevented_default = outcome in PREVENTING_OUTCOMES
    notes = (notes or "").strip() or None
    duplicate = f"intervention {intervention_id} already has an outcome"
    with concurrent_change_is_conflict(duplicate), conn.begin_nested():
        # locked so that two officers recording at once are serialised: the second sees the first's outcome
        before = conn.execute(text(f"SELECT {INTERVENTION_COLS} FROM interventions "
                                   f"WHERE intervention_id = :id FOR UPDATE"), {"id": intervention_id}).first()
        if before is None:
            raise NotFound(f"intervention {intervention_id} does not exist")
        existing = get_outcome(conn, intervention_id)
        if existing is not None:
            raise Conflict(f"{duplicate} ({existing['outcome']}, recorded at "
                           f"{existing['recorded_at']:%Y-%m-%d %H:%M}); outcomes cannot be recorded twice")
        if before.status == "cancelled":
            raise Conflict(f"intervention {intervention_id} was cancelled; an outcome cannot be recorded for it")
        if responded_at is not None:
            # compared in SQL: a naive datetime or a date is read in the database's time zone, like a typed-in
            # time; the checks catch slips (wrong year), so same-day and a few minutes of clock skew pass
            when = conn.execute(
                text("SELECT CAST(:r AS timestamptz) AS r, "
                     "CAST(:r AS timestamptz) < date_trunc('day', CAST(:created AS timestamptz)) AS early, "
                     "CAST(:r AS timestamptz) > now() + interval '5 minutes' AS late"),
                {"r": responded_at, "created": before.created_at}).one()
            if when.early:
                raise PdeError(f"responded_at {when.r:%Y-%m-%d %H:%M} is before the intervention was created "
                               f"({before.created_at:%Y-%m-%d %H:%M})")
            if when.late:
                raise PdeError(f"responded_at {when.r:%Y-%m-%d %H:%M} is in the future")
            responded_at = when.r
        row = conn.execute(
            text(f"INSERT INTO intervention_outcomes (intervention_id, outcome, responded_at, prevented_default, "
                 f"amount_recovered, recorded_by, notes) VALUES (:id, :o, COALESCE(:r, now()), :p, :a, :by, :n) "
                 f"RETURNING {_COLS}"),
            {"id": intervention_id, "o": outcome, "r": responded_at, "p": prevented_default, "a": amount,
             "by": recorded_by, "n": notes},
        ).one()
        intervention = as_dict(conn.execute(
            text(f"UPDATE interventions SET status = 'completed', row_version = row_version + 1, updated_at = now() "
                 f"WHERE intervention_id = :id RETURNING {INTERVENTION_COLS}"), {"id": intervention_id}).one())
        recorded = as_dict(row)
        write_audit(conn, actor.username, "record_outcome", "intervention", intervention_id,
                    {"intervention": as_dict(before), "outcome": None},
                    {"intervention": intervention, "outcome": recorded})
    return {**recorded, "intervention": intervention}
