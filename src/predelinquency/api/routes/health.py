"""GET /health: no key needed; says whether the database answers, the champion and the last batch run.

Without a key it says only what a monitor needs (up or degraded, database reachable, champion present, the last
run's kind, status and times); who started a run and the error it raised (SQL, server hints) need a key.
"""

from __future__ import annotations

import logging
from typing import Any

import anyio
from fastapi import APIRouter
from fastapi.responses import JSONResponse

from predelinquency.api import queries
from predelinquency.api.deps import MaybeAuthenticated, State
from predelinquency.api.errors import responses
from predelinquency.api.schemas import Health, RunBrief
from predelinquency.api.state import NO_CHAMPION, ApiState
from predelinquency.db.runs import latest_run
from predelinquency.operations.apikeys import user_for_api_key
from predelinquency.operations.users import AuthError

log = logging.getLogger(__name__)
router = APIRouter(tags=["health"])
TIMEOUT_SECONDS = 3.0
DOWN = "the database is not reachable: scoring, reads and actions are unavailable"


def _check(state: ApiState, key: str | None) -> dict[str, Any]:
    with state.engine().connect() as conn:
        if key is not None:
            user_for_api_key(conn, key)  # AuthError (401) for a key that is not valid
        version, as_of = queries.champion_scores(conn)
        run = latest_run(conn)
    body: dict[str, Any] = {"status": "ok" if version else "degraded", "database": "reachable",
                            "champion_present": version is not None, "detail": None if version else NO_CHAMPION}
    if key is None:
        return {**body, "last_batch_run": None if run is None else {f: run[f] for f in RunBrief.model_fields}}
    return {**body, "champion_model": version, "latest_scores_as_of": as_of, "last_batch_run": run}


@router.get("/health", response_model=Health, response_model_exclude_unset=True,
            responses={**responses(), 503: {"model": Health, "description": "The database is not reachable"}})
async def health(state: State, caller: MaybeAuthenticated) -> Any:
    """Up or degraded, database reachable, champion present, last batch run; 503 when the database is down.

    With an API key (any role) also the champion's version, the date of its latest scores and the run's details.
    """
    result = None
    # a database host that drops packets would hang the connect: answer 503 after a few seconds instead
    with anyio.move_on_after(TIMEOUT_SECONDS):
        try:
            result = await anyio.to_thread.run_sync(_check, state, caller and caller.key, abandon_on_cancel=True)
        except AuthError:  # a key that is not valid: 401, not "database down"
            raise
        except Exception as exc:  # any failure here means the same to a load balancer: not serving
            # the reason may name hosts and users: it goes to the log, never into the answer
            log.warning("health check: database unavailable: %s", exc)
    if result is None:
        body = Health(status="unavailable", database="unreachable", detail=DOWN)
        return JSONResponse(body.model_dump(mode="json", exclude_unset=True), status_code=503)
    return result
