"""GET and PUT /holdout (manager or admin): the randomised control group's size and the share held out."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from sqlalchemy import Connection

from predelinquency.api.deps import Authenticated, State
from predelinquency.api.errors import responses
from predelinquency.api.schemas import HoldoutSummary, HoldoutUpdate, HoldoutUpdated
from predelinquency.operations.accounts import User
from predelinquency.operations.holdout import holdout_summary, set_holdout_share

router = APIRouter(tags=["closing the loop"])


@router.get("/holdout", response_model=HoldoutSummary, responses=responses(403))
async def get_holdout(caller: Authenticated, state: State) -> dict[str, Any]:
    """The share of each day's plan held out as a control group, who set it, and how many customers are in each
    arm now (manager or admin; officers are never shown the control group)."""
    return await caller.read(lambda conn, user: holdout_summary(conn, user, state.settings))


@router.put("/holdout", response_model=HoldoutUpdated, responses=responses(400, 403))
async def put_holdout(body: HoldoutUpdate, caller: Authenticated, state: State) -> dict[str, Any]:
    """Set the share held out, 0 to 0.5 (manager or admin, audited); it applies from the next plan on, and
    customers already drawn stay in their arm for their outcome window."""
    def work(conn: Connection, user: User) -> dict[str, Any]:
        change = set_holdout_share(conn, user, body.share, state.settings)
        summary = holdout_summary(conn, user, state.settings)
        conn.commit()
        return {**summary, "previous_share": change["before"]}
    return await caller.run(work)
