"""Contact results: what the officer saw when trying to contact the customer (reached, no answer, promise to
pay, refused, with notes). Recording one completes the intervention. Whether a missed payment was prevented
is never recorded: the nightly settles each intervention from the payments that follow (scoring/settle.py)
and `loop/effects.py` measures the effect against the control group."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, text

from predelinquency.db.audit import write_audit
from predelinquency.domain.vocabulary import CONTACT_RESULTS
from predelinquency.errors import Conflict, NotFound, PdeError
from predelinquency.operations._common import as_dict, concurrent_change_is_conflict
from predelinquency.operations.accounts import User
from predelinquency.operations.interventions import COLUMNS as INTERVENTION_COLS
from predelinquency.operations.permissions import acting_user_id, authorise

_COLS = "outcome_id, intervention_id, outcome, responded_at, recorded_by, recorded_at, notes"


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
    notes: str | None = None,
) -> dict[str, Any]:
    """The outcome row plus 'intervention' (now completed, row_version bumped); Conflict for a second outcome."""
    actor = authorise(conn, actor, "record_outcome")
    recorded_by = acting_user_id(actor)
    if outcome not in CONTACT_RESULTS:
        raise PdeError(f"unknown contact result {outcome!r}; choose one of {', '.join(CONTACT_RESULTS)}")
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
            text(f"INSERT INTO intervention_outcomes (intervention_id, outcome, responded_at, recorded_by, notes) "
                 f"VALUES (:id, :o, COALESCE(:r, now()), :by, :n) RETURNING {_COLS}"),
            {"id": intervention_id, "o": outcome, "r": responded_at, "by": recorded_by, "n": notes},
        ).one()
        intervention = as_dict(conn.execute(
            text(f"UPDATE interventions SET status = 'completed', row_version = row_version + 1, updated_at = now() "
                 f"WHERE intervention_id = :id RETURNING {INTERVENTION_COLS}"), {"id": intervention_id}).one())
        recorded = as_dict(row)
        write_audit(conn, actor.username, "record_outcome", "intervention", intervention_id,
                    {"intervention": as_dict(before), "outcome": None},
                    {"intervention": intervention, "outcome": recorded})
    return {**recorded, "intervention": intervention}
