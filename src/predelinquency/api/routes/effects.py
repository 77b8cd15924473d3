"""GET /effects: what contacts really prevent, measured against the randomised control group (loop/effects.py)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from predelinquency.api.deps import Authenticated, State
from predelinquency.api.errors import responses
from predelinquency.api.schemas import Effects, EffectsQuery
from predelinquency.loop.effects import measure_effects

router = APIRouter(tags=["closing the loop"])


@router.get("/effects", response_model=Effects, responses=responses())
async def effects(query: Annotated[EffectsQuery, Query()], caller: Authenticated, state: State) -> dict[str, Any]:
    """Contacted against held-out miss rates over settled outcome windows, overall, by action, tier and week:
    the uplift with its 95 % interval, prevented defaults and loss, contact cost and ROI (any role).

    A contact result such as 'promise_to_pay' never counts as prevented; only the payments that followed do.
    `enough_data: false` means the interval is still too wide, and `outcomes_needed` how many more it needs.
    """
    return await caller.read(lambda conn, user: measure_effects(conn, state.settings, query.since, query.until))
