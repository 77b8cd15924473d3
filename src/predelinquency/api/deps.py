"""Request dependencies: the app state and the caller, whose database work runs in one worker thread.

Routes are `async def` and hand their blocking work to `await caller.run(fn)`: one thread hop per request, in
which the API key's user is looked up and `fn(conn, user)` runs on one pooled connection. (Sync dependencies and
sync routes would cost a hop each, several per request.)
Work that writes calls `conn.commit()` once the operation succeeded; anything not committed is rolled back when
the connection goes back to the pool, so a refused or failed request leaves nothing behind. Work that only reads
goes through `caller.read(fn)`: autocommit, so no BEGIN and ROLLBACK round trips (each statement sees the latest
committed data either way, as under READ COMMITTED).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, TypeVar

from fastapi import Depends, Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import Connection
from starlette.concurrency import run_in_threadpool

from predelinquency.api.state import ApiState
from predelinquency.operations.accounts import User
from predelinquency.operations.apikeys import INVALID_KEY, user_for_api_key
from predelinquency.operations.users import AuthError

T = TypeVar("T")
# the shape create_api_key produces ('pde_' + URL-safe base64); anything else is refused before the database
_KEY_SHAPE = re.compile(r"pde_[A-Za-z0-9_-]{8,196}")
MISSING_KEY = "missing API key: send the header 'Authorization: Bearer <key>' (create a key with pde apikey create)"

bearer = HTTPBearer(auto_error=False, scheme_name="APIKey",
                    description="An API key from `pde apikey create --user NAME`; it acts with that user's role")


async def get_state(request: Request) -> ApiState:
    """The state of the app serving this request."""
    return request.app.state.api


State = Annotated[ApiState, Depends(get_state)]


@dataclass(frozen=True)
class Caller:
    """A request carrying a well-formed API key; whose key it is gets checked when its work runs."""

    state: ApiState
    key: str

    async def run(self, work: Callable[[Connection, User], T]) -> T:
        """work(conn, user) in a worker thread, for the key's active user (role as it is now); AuthError otherwise."""
        return await run_in_threadpool(self._run, work, False)

    async def read(self, work: Callable[[Connection, User], T]) -> T:
        """Like run, for work that writes nothing: its statements run in autocommit."""
        return await run_in_threadpool(self._run, work, True)

    def _run(self, work: Callable[[Connection, User], T], read_only: bool) -> T:
        with self.state.engine().connect() as conn:
            if read_only:
                conn = conn.execution_options(isolation_level="AUTOCOMMIT")
            return work(conn, user_for_api_key(conn, self.key))


async def get_caller(state: State,
                     credentials: Annotated[HTTPAuthorizationCredentials | None, Security(bearer)]) -> Caller:
    """The caller; AuthError (401) at once, without the database, when the header is missing or malformed."""
    if credentials is None:
        raise AuthError(MISSING_KEY)
    if not _KEY_SHAPE.fullmatch(credentials.credentials):
        raise AuthError(INVALID_KEY)
    return Caller(state, credentials.credentials)


Authenticated = Annotated[Caller, Depends(get_caller)]


async def get_optional_caller(
    state: State, credentials: Annotated[HTTPAuthorizationCredentials | None, Security(bearer)]
) -> Caller | None:
    """The caller when the request carries a key (refused like get_caller when malformed); None when it carries none."""
    return None if credentials is None else await get_caller(state, credentials)


MaybeAuthenticated = Annotated[Caller | None, Depends(get_optional_caller)]
