"""Errors as HTTP answers: each PdeError kind gets its status and its message, never a traceback.

Every 422 has one shape, FastAPI's field-level list plus a one-line summary:
`{"message": "...", "detail": [{"loc": [...], "msg": "...", "type": "..."}]}`; every other error is
`{"detail": "..."}`.
"""

from __future__ import annotations

import logging
import math
import uuid
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel
from sqlalchemy.exc import DBAPIError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from predelinquency.api.schemas import NO_NUL, USERNAME
from predelinquency.db.engine import DatabaseUnavailable
from predelinquency.errors import Conflict, Forbidden, NotFound, PdeError
from predelinquency.operations.users import AuthError

log = logging.getLogger(__name__)
DATABASE_DOWN = "the database is not reachable; try again shortly"
BAD_BODY = "the request body is not valid UTF-8 JSON"
MAX_ECHO = 200  # characters of the caller's own input an error quotes back


class Unavailable(PdeError):
    """The service cannot answer right now (no champion model, database down): HTTP 503."""


class ErrorMessage(BaseModel):
    """Body of every non-422 error."""

    detail: str


# documented on the routes that can answer with them (so the OpenAPI spec lists every status we send)
AUTH_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorMessage, "description": "Missing, invalid or revoked API key"},
    503: {"model": ErrorMessage, "description": "Database unreachable"},
}


def responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI response entries for these error statuses, plus 401 and 503 that every route can give."""
    words = {400: "The body is not UTF-8 JSON", 403: "The key's user has a role that may not do this", 404: "Not found",
             409: "Conflicts with the current state", 503: "Database or champion model unavailable"}
    out = dict(AUTH_ERRORS)
    for code in codes:
        out[code] = {"model": ErrorMessage, "description": words[code]}
    return out


def safe_text(value: str) -> str:
    """The text with each lone UTF-16 surrogate (which UTF-8 cannot carry) written out as a visible \\udXXX escape."""
    return value.encode("utf-8", "backslashreplace").decode("utf-8")


def _echo(value: Any) -> Any:
    """The caller's input as an error quotes it back: text made UTF-8-safe and cut at MAX_ECHO characters."""
    if isinstance(value, str):
        return safe_text(value if len(value) <= MAX_ECHO else value[:MAX_ECHO] + "…")
    return value


# pydantic's wording for these names the machinery (a regex, "raw data"); the user needs to know what to change
_PATTERN_WORDS = {
    NO_NUL: "must not contain the NUL character (\\u0000)",
    USERNAME: "a username is 2 to 64 letters, digits or the characters _ . @ -",
}
NOT_UNICODE = "must be valid Unicode text: it contains a lone UTF-16 surrogate (an unpaired \\ud800-\\udfff escape)"


def _error_item(err: dict[str, Any]) -> dict[str, Any]:
    kind = str(err.get("type", ""))
    item = {"loc": [_echo(p) for p in err.get("loc", ())], "msg": safe_text(str(err.get("msg", ""))), "type": kind}
    value = err.get("input")
    # echo short scalar inputs only: a 5,000-id list or a megabyte string does not belong in an error
    # (and never NaN or infinity, which JSON cannot carry)
    if value is None or isinstance(value, bool | int) or (isinstance(value, float) and math.isfinite(value)) \
            or (isinstance(value, str) and len(value) <= MAX_ECHO):
        item["input"] = _echo(value)
    ctx = err.get("ctx") or {}
    if kind == "string_unicode":
        item["msg"] = NOT_UNICODE
    elif kind == "string_pattern_mismatch" and ctx.get("pattern") in _PATTERN_WORDS:
        item["msg"] = _PATTERN_WORDS[ctx["pattern"]]
    elif kind == "too_long" and item["loc"][-1:] == ["customer_ids"]:
        limit = ctx.get("max_length")
        got = len(value) if isinstance(value, list | tuple) else "more"
        item["msg"] = (f"at most {limit} customer ids per request, got {got}; "
                       f"split the batch into requests of {limit} or fewer")
    return item


def validation_body(errors: list[dict[str, Any]]) -> dict[str, Any]:
    """The 422 body: a summary line naming the first fields and the field-level list."""
    items = [_error_item(e) for e in errors]

    def where(item: dict[str, Any]) -> str:
        loc = [str(p) for p in item["loc"] if p not in ("body", "query", "path")]
        return ".".join(loc) or (str(item["loc"][0]) if item["loc"] else "request")

    summary = "; ".join(f"{where(i)}: {i['msg']}" for i in items[:3])
    if len(items) > 3:
        summary += f"; and {len(items) - 3} more"
    return {"message": summary, "detail": items}


def _json(status: int, detail: str, headers: dict[str, str] | None = None) -> JSONResponse:
    # a message may quote the caller's input back, lone surrogates included
    return JSONResponse({"detail": safe_text(detail)}, status_code=status, headers=headers)


async def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
    # FastAPI's words for a body it cannot decode say nothing about what to fix
    if exc.status_code == 400 and exc.detail == "There was an error parsing the body":
        return _json(400, BAD_BODY)
    return await http_exception_handler(request, exc)


async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
    return JSONResponse(validation_body(list(exc.errors())), status_code=422)


async def _pde_error(request: Request, exc: PdeError) -> JSONResponse:
    message = safe_text(str(exc))
    if isinstance(exc, AuthError):
        return _json(401, message, {"WWW-Authenticate": "Bearer"})
    for kind, status in ((Forbidden, 403), (NotFound, 404), (Conflict, 409), (Unavailable, 503)):
        if isinstance(exc, kind):
            return _json(status, message)
    # anything else the user can fix is invalid input: the same 422 shape as a schema violation
    return JSONResponse({"message": message, "detail": [{"loc": ["body"], "msg": message, "type": "invalid"}]},
                        status_code=422)


async def _database_down(request: Request, exc: Exception) -> JSONResponse:
    # the reason (host, user, socket path) stays in the server log; the client learns only that it is down
    log.warning("database unavailable for %s %s: %s", request.method, request.url.path, exc)
    return _json(503, DATABASE_DOWN, {"Retry-After": "5"})


async def _database_error(request: Request, exc: DBAPIError) -> JSONResponse:
    if isinstance(exc, OperationalError) or exc.connection_invalidated:
        return await _database_down(request, exc)
    return await _unexpected(request, exc)


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    ref = uuid.uuid4().hex[:12]
    log.exception("unhandled error %s in %s %s", ref, request.method, request.url.path, exc_info=exc)
    return _json(500, f"internal error (reference {ref}); the server log has the details")


def install_error_handlers(app: FastAPI) -> None:
    """Registers the handlers that turn exceptions into the documented error bodies."""
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(PdeError, _pde_error)
    app.add_exception_handler(DatabaseUnavailable, _database_down)
    app.add_exception_handler(DBAPIError, _database_error)
    app.add_exception_handler(Exception, _unexpected)
