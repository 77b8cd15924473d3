"""GET /health: no key needed; says whether the database answers, the champion and the last batch run."""

from __future__ import annotations

import logging
from typing import Any

import anyio
from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy import text

from predelinquency.api import queries
from predelinquency.api.deps import State
from predelinquency.api.schemas import Health
from predelinquency.api.state import ApiState

log = logging.getLogger(__name__)
router = APIRouter(tags=["health"])
TIMEOUT_SECONDS = 3.0
DOWN = "the database is not reachable: scoring, reads and actions are unavailable"


def _check(state: ApiState) -> dict[str, Any]:
    with state.engine().connect() as conn:
        conn.execute(text("SELECT 1"))
        version, as_of = queries.champion_scores(conn)
        run = queries.latest_batch_run(conn)
    return {"status": "ok" if version else "degraded", "database": "reachable", "champion_model": version,
            "latest_scores_as_of": as_of, "last_batch_run": run,
            "detail": None if version else "no champion model: run pde train first"}


@router.get("/health", response_model=Health,
            responses={503: {"model": Health, "description": "The database is not reachable"}})
async def health(state: State) -> Any:
    """Database reachable, champion model version, latest scores and last batch run; 503 when the database is down."""
    result = None
    # a database host that drops packets would hang the connect: answer 503 after a few seconds instead
    with anyio.move_on_after(TIMEOUT_SECONDS):
        try:
            result = await anyio.to_thread.run_sync(_check, state, abandon_on_cancel=True)
        except Exception as exc:  # any failure here means the same to a load balancer: not serving
            # the reason may name hosts and users: it goes to the log, never into the answer
            log.warning("health check: database unavailable: %s", exc)
    if result is None:
        body = Health(status="unavailable", database="unreachable", detail=DOWN)
        return JSONResponse(body.model_dump(mode="json"), status_code=503)
    return result

