"""POST /interventions, /assignments, /interventions/{id}/outcome (the contact's result): the dashboard's
operations, audited the same way.

Each route calls one predelinquency.operations function with the API key's user, which checks the role, writes
the row and its audit row in one savepoint; the route commits only when the operation returned.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path
from sqlalchemy import Connection

from predelinquency.api.deps import Authenticated, State
from predelinquency.api.errors import responses
from predelinquency.api.schemas import (
    BIGINT_MAX,
    Assignment,
    AssignmentCreate,
    Intervention,
    InterventionCreate,
    OutcomeCreate,
    OutcomeRecorded,
)
from predelinquency.operations.accounts import User
from predelinquency.operations.assignments import ANY, assign_customer
from predelinquency.operations.interventions import create_intervention
from predelinquency.operations.outcomes import record_outcome

router = APIRouter(tags=["actions"])
ERRORS = responses(400, 403, 404, 409)


@router.post("/interventions", status_code=201, response_model=Intervention, responses=ERRORS)
async def post_intervention(body: InterventionCreate, caller: Authenticated, state: State) -> dict[str, Any]:
    """Open an intervention for a customer on today's business date (contact cool-down and duplicate checks; SLA
    from the customer's tier).

    A customer in the control group is refused with 409: contacting them would spoil the measurement of what
    contacts prevent. A manager may contact them anyway by giving `release_reason` (audited); the customer then
    leaves the control group and the measurement.
    """
    def work(conn: Connection, user: User) -> dict[str, Any]:
        row = create_intervention(conn, user, body.customer_id, body.intervention_type, body.channel,
                                  state.settings, notes=body.notes, assigned_to=body.assigned_to,
                                  release_reason=body.release_reason)
        conn.commit()
        return row
    return await caller.run(work)


@router.post("/assignments", status_code=201, response_model=Assignment, responses=ERRORS)
async def post_assignment(body: AssignmentCreate, caller: Authenticated) -> dict[str, Any]:
    """Assign a customer to an officer: an officer may take to themselves a customer nobody else holds; a manager or
    admin may assign anyone to anybody, including customers another officer holds (403 otherwise)."""
    # a field left out means "whoever holds the customer now"; an explicit null means "I saw it unassigned"
    expected = body.expected_current_officer_id if "expected_current_officer_id" in body.model_fields_set else ANY

    def work(conn: Connection, user: User) -> dict[str, Any]:
        row = assign_customer(conn, user, body.customer_id, body.officer, reason=body.reason,
                              expected_current=expected)
        conn.commit()
        return row
    return await caller.run(work)


@router.post("/interventions/{intervention_id}/outcome", status_code=201, response_model=OutcomeRecorded,
             responses=ERRORS, summary="Record the contact's result")
async def post_outcome(
    intervention_id: Annotated[int, Path(ge=1, le=BIGINT_MAX)], body: OutcomeCreate, caller: Authenticated
) -> dict[str, Any]:
    """Record the contact's result (reached, no answer, promise to pay, refused); this completes the intervention,
    and a result cannot be recorded twice.

    Whether the customer then paid is settled by the nightly from the payments (the intervention's
    `payment_outcome`), and what contacts prevent is measured against the control group (GET /effects).
    """
    def work(conn: Connection, user: User) -> dict[str, Any]:
        row = record_outcome(conn, user, intervention_id, body.outcome, responded_at=body.responded_at,
                             notes=body.notes)
        conn.commit()
        return row
    return await caller.run(work)
