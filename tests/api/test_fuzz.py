"""Property-based and hostile input: requests to every route of our own OpenAPI spec never get a 500 or a raw
database error.

Runs in-process through the ASGI app against a real database holding users, customers, scores, contact plans
(settled and today's, with a held-out customer) and interventions, so generated ids sometimes hit real rows.
Two parts: schemathesis generates requests (valid and invalid) from the spec, a bounded number per operation;
and every parameter and body field of every operation, read from the same spec, receives each value of HOSTILE
(lone surrogates, NUL, a megabyte of text, numbers past bigint and double). The oracle for both: no 5xx (but
the documented 503 of a champion that cannot score) and no database or Python internals in any body.
"""

import json
import re
import sys
from collections.abc import Iterator
from datetime import timedelta
from typing import Any
from urllib.parse import quote

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

from predelinquency.api.app import create_app
from predelinquency.operations import users as users_mod
from predelinquency.operations.interventions import create_intervention
from predelinquency.settings import Settings
from tests.api.plan_rows import TODAY, insert_plan_row, start_business_date
from tests.support.api import Api, insert_customer, insert_model, insert_score, make_api

# what a raw database error or a traceback would show; none of our own messages uses these words
INTERNALS = re.compile(r"psycopg|sqlalchemy|SQL|Traceback|relation|violates|duplicate key|DETAIL:|CONTEXT:|HINT:")
# the documented 503: this database's champion is registered without an artifact, so it cannot score
CHAMPION_503 = re.compile(r"champion model .* cannot be loaded|no champion model")


def problem(status: int, body: str) -> str | None:
    """What is wrong with this answer (a 5xx, internals in the body), or None."""
    if status >= 500 and not (status == 503 and CHAMPION_503.search(body)):
        return f"{status}: {body[:300]}"
    if (found := INTERNALS.search(body)) is not None:
        return f"{status} shows {found.group()!r}: {body[:300]}"
    return None


@schemathesis.check
def no_internal_error(ctx: Any, response: Any, case: Any) -> None:
    """Like not_a_server_error, but the documented 503 of a champion that cannot score is allowed; and no
    database or Python internals in the body."""
    if (wrong := problem(response.status_code, response.text)) is not None:
        raise AssertionError(wrong)


CHECKS = [no_internal_error, status_code_conformance, content_type_conformance, response_schema_conformance,
          negative_data_rejection]


@pytest.fixture(scope="module")
def fuzz_api(module_settings: Settings) -> Iterator[Api]:
    """An app on a seeded database; retraining runs a no-op instead of `pde train`."""
    from argon2 import PasswordHasher

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(users_mod, "_hasher", PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))
        gen = make_api(module_settings, train_command=(sys.executable, "-c", "print('{}')"))
        api = next(gen)

    def seed(c):
        start_business_date(c)
        insert_model(c, "v1")  # its artifact does not exist: /predict answers 503, which is documented
        for cid in range(1, 6):
            insert_customer(c, cid)
            insert_score(c, cid, pd=0.1 * cid, tier=("Low", "Medium", "High", "Critical", "Critical")[cid - 1])
            # a settled plan a month ago, and today's plan (customer 4 held out) for the reads of the loop
            insert_plan_row(c, cid, ("contact", "holdout")[cid % 2], cid, day=TODAY - timedelta(days=31),
                            payment_outcome=("paid", "missed", "late", "paid", "missed")[cid - 1])
            if cid > 1:
                insert_plan_row(c, cid, "holdout" if cid == 4 else "contact", cid)
        create_intervention(c, api.users["officer"], 1, "agent_call", "phone", api.settings)
        # untouched rows for the hostile requests that pass validation, so that they reach the database
        for cid in range(FRESH_FROM, FRESH_FROM + 2 * FRESH):
            insert_customer(c, cid)
        return [create_intervention(c, api.users["officer"], cid, "agent_call", "phone", api.settings)
                ["intervention_id"] for cid in range(FRESH_FROM + FRESH, FRESH_FROM + 2 * FRESH)]
    interventions = api.write(seed)
    SEEDED.update(customer_id=list(range(FRESH_FROM, FRESH_FROM + FRESH)), intervention_id=interventions)
    SLOT.app = api.client.app
    yield api
    next(gen, None)


FRESH_FROM, FRESH = 1000, 50
# untouched rows, so that a hostile value that passes validation reaches the database instead of a 409 on a row
# used before; each operation's test starts from the seeded ids (an operation uses rows up in one way only), and
# the first id of each list is in use until a request succeeds on it
SEEDED: dict[str, list[int]] = {}
FRESH_IDS: dict[str, list[int]] = {}


class AppSlot:
    """An ASGI app forwarding to the app the test module put in it: schemathesis reads the spec at import time,
    before any database exists, and calls this same object later."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await self.app(scope, receive, send)


# the spec does not depend on the database: read it from an app that never connects
SLOT = AppSlot(create_app(Settings(database_url="postgresql://spec-only@127.0.0.1:9/none"), warm_up=False))
schema = schemathesis.openapi.from_asgi("/openapi.json", SLOT)
# every request carries a valid key (what a missing or bad key gets is tested in test_auth.py)
schema.config.generation.update(with_security_parameters=False)


# the trigger takes no input to vary; each call would start a process (tests/api/routes/test_retraining.py)
@schema.exclude(method="POST", path="/retraining/trigger").parametrize()
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_generated_requests_never_get_a_server_error(case, fuzz_api: Api):
    case.call_and_validate(headers=fuzz_api.auth("admin"), checks=CHECKS)


# --- hostile values into every parameter and field ----------------------------------------------------------
class Raw(str):
    """A JSON literal sent as it is (Python's json cannot write 1e400 or a 400-digit number as we want)."""


HOSTILE_TEXT = ["ab\udc80cd", "\ud800", "a\x00b", "\x00", "x" * 1_000_000, "", "  ", "'; DROP TABLE customers; --",
                "😀 ünïcødé \u202e", "9999-12-31T23:59:59+14:00", "0001-01-01T00:00:00", "-1"]
HOSTILE_NUMBERS = [Raw(n) for n in ("9223372036854775807", "9223372036854775808", "-9223372036854775809",
                                     "18446744073709551616", "1" + "0" * 400, "1e308", "-1e308", "1e400", "-1e400",
                                     "5e-324", "-0.0", "NaN", "Infinity", "0", "-1", "0.5", "true", "null")]
HOSTILE = [*HOSTILE_TEXT, *HOSTILE_NUMBERS]
SPEC = SLOT.app.openapi()


def to_json(value: Any) -> bytes:
    """The body as JSON text, Raw values as their literal; lone surrogates go out as \\udXXX escapes."""
    raws: list[str] = []

    def mark(v: Any) -> Any:
        if isinstance(v, Raw):
            raws.append(str(v))
            return f"__raw_{len(raws) - 1}__"
        if isinstance(v, dict):
            return {mark(k): mark(x) for k, x in v.items()}
        if isinstance(v, list):
            return [mark(x) for x in v]
        return v
    out = json.dumps(mark(value))
    for i, raw in enumerate(raws):
        out = out.replace(f'"__raw_{i}__"', raw)
    return out.encode()


def in_url(value: Any) -> str:
    """The value as a path segment or query value, percent-encoded (a lone surrogate as its would-be bytes); the
    megabyte string is cut to what a client can send in a URL (httpx refuses URLs over 64 KiB)."""
    return quote(str(value)[:60_000].encode("utf-8", "surrogatepass"), safe="")


def resolve(schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = SPEC["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
    return schema


def valid(schema: dict[str, Any], name: str = "") -> Any:
    """A value this schema accepts: an untouched seeded row for an id, officer1 for a username."""
    if name in FRESH_IDS:
        return FRESH_IDS[name][0]
    schema = resolve(schema)
    if "anyOf" in schema:
        return valid(next(s for s in schema["anyOf"] if s.get("type") != "null"))
    if "enum" in schema:
        return schema["enum"][0]
    kind = schema.get("type")
    if kind == "array":
        return [valid(schema["items"])]
    if kind == "string":
        return ("2026-11-01T10:00:00Z" if schema.get("format") == "date-time"
                else "officer1" if "pattern" in schema and "@" in schema["pattern"] else "a note")
    return {"integer": 1, "number": 1.0, "boolean": True, "object": {}}[kind]


def hostile_requests(path: str, method: str, op: dict[str, Any]) -> Iterator[tuple[str, str, bytes | None]]:
    """(method, url, body) with one hostile value in one place, for every place of the operation."""
    params = op.get("parameters", [])
    path_params = {p["name"]: p["schema"] for p in params if p["in"] == "path"}
    queries = [p["name"] for p in params if p["in"] == "query"]
    body_schema = op.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema")
    schema = resolve(body_schema) if body_schema is not None else None
    props = {} if schema is None else {k: resolve(v) for k, v in schema.get("properties", {}).items()}

    def url(**hostile: Any) -> str:
        values = {k: hostile.get(k, valid(v, k)) for k, v in path_params.items()}
        query = "&".join(f"{in_url(k)}={in_url(v)}" for k, v in hostile.items() if k not in path_params)
        return path.format(**{k: in_url(v) for k, v in values.items()}) + (f"?{query}" if query else "")

    def body(**fields: Any) -> bytes | None:
        if schema is None:
            return None
        return to_json({**{k: valid(props[k], k) for k in schema.get("required", [])}, **fields})

    for value in HOSTILE:
        is_text = isinstance(value, str) and not isinstance(value, Raw)
        for name in [*path_params, *queries]:
            yield method, url(**{name: value}), body()
        if is_text:  # a query parameter that does not exist, named by the value
            yield method, url(**{value[:1000]: value}), body()
        for name, prop in props.items():
            yield method, url(), body(**{name: value})
            if prop.get("type") == "array":
                yield method, url(), body(**{name: [value]})
            if isinstance(prop.get("additionalProperties"), dict):
                yield method, url(), body(**{name: {"failed_debits_30d": value}})
                if is_text:
                    yield method, url(), body(**{name: {value: 1}})
        if schema is not None and is_text:
            yield method, url(), to_json({**json.loads(body() or b"{}"), value: 1})  # a field of that name
    if schema is not None:
        yield method, url(), b'{"notes": "\xff\xfe not UTF-8"}'
        yield method, url(), b'{"notes": "unterminated'


OPERATIONS = [(path, method) for path, ops in SPEC["paths"].items() for method in ops
              if (path, method) != ("/retraining/trigger", "post")]  # no input; each call starts a process


@pytest.mark.parametrize(("path", "method"), OPERATIONS, ids=[f"{m.upper()} {p}" for p, m in OPERATIONS])
def test_hostile_values_in_every_place_never_get_a_server_error(fuzz_api: Api, path: str, method: str):
    client = TestClient(fuzz_api.client.app, raise_server_exceptions=False)
    headers = {**fuzz_api.auth("admin"), "Content-Type": "application/json"}
    wrong, tried = [], 0
    FRESH_IDS.update({name: list(ids) for name, ids in SEEDED.items()})
    for verb, url, body in hostile_requests(path, method, SPEC["paths"][path][method]):
        r = client.request(verb.upper(), url, headers=headers, content=body)
        tried += 1
        if r.is_success and verb == "post":
            for ids in FRESH_IDS.values():
                del ids[:1 if len(ids) > 1 else 0]
        if (found := problem(r.status_code, r.text)) is not None:
            wrong.append(f"{verb.upper()} {url[:80]} {(body or b'')[:80]!r} -> {found}")
    assert not wrong, f"{len(wrong)} of {tried} requests:\n" + "\n".join(wrong[:20])

