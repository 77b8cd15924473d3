"""GET /retraining/status and POST /retraining/trigger (manager or admin): `pde train` in the background."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from predelinquency.api.deps import Authenticated, State
from predelinquency.api.errors import responses
from predelinquency.api.schemas import RetrainingStatus, RetrainingTrigger

router = APIRouter(prefix="/retraining", tags=["retraining"])


@router.get("/status", response_model=RetrainingStatus, responses=responses())
async def retraining_status(caller: Authenticated, state: State) -> dict[str, Any]:
    """Whether a training job runs now, the newest train run's progress, and the last API trigger's outcome."""
    return await caller.read(lambda conn, user: state.retrainer.status(conn))


@router.post("/trigger", status_code=202, response_model=RetrainingTrigger, responses=responses(403, 409, 503))
async def retraining_trigger(caller: Authenticated, state: State) -> dict[str, Any]:
    """Start `pde train --json` in the background (manager or admin); 409 while a training job is running.

    Follow it with GET /retraining/status; the new model registers as a challenger (or champion if it is the first).
    """
    return await caller.run(lambda conn, user: state.retrainer.trigger(state.engine(), conn, user))
