"""GET /plan: today's contact plan as officers work it (the contact arm only; the control group stays hidden)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from predelinquency.api import queries
from predelinquency.api.deps import Authenticated, State
from predelinquency.api.errors import responses
from predelinquency.api.schemas import ContactPlan

router = APIRouter(tags=["closing the loop"])


@router.get("/plan", response_model=ContactPlan, responses=responses())
async def todays_plan(caller: Authenticated, state: State) -> dict[str, Any]:
    """The customers the nightly planned to contact on the business date, highest expected net benefit first, with
    the action, its channel, why it was chosen (in plain words), and whether an intervention was already made for
    each today (any role).

    Customers drawn into the control group are not listed: they are not to be contacted.
    """
    return await caller.read(lambda conn, user: queries.todays_plan(conn, state.settings))
