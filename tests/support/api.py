"""API test helpers: an app on its own database with a user and key per role, rows written by plain SQL."""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date

from fastapi.testclient import TestClient
from sqlalchemy import Connection, Engine, create_engine, text
from sqlalchemy.engine import make_url

from predelinquency.api.app import create_app
from predelinquency.db.engine import dispose_engines
from predelinquency.operations.accounts import User
from predelinquency.operations.apikeys import create_api_key
from predelinquency.operations.users import create_user
from predelinquency.settings import Settings
from tests.support.users import PASSWORD, SYSTEM

ROLES = ("officer", "manager", "admin")
_ids = itertools.count(500_001)


def insert_customer(conn: Connection, customer_id: int | None = None) -> int:
    """A new customer row's id (plain SQL, as the simulator or ingest would write it)."""
    customer_id = customer_id or next(_ids)
    conn.execute(text(
        "INSERT INTO customers (customer_id, full_name, age, employment_type, segment, region, monthly_income, "
        "salary_day, tenure_months) VALUES (:id, 'Test Customer', 40, 'salaried', 'mass', 'North', 3000, 25, 36)"),
        {"id": customer_id})
    return customer_id


def insert_model(conn: Connection, version: str, status: str = "champion") -> None:
    """A model_versions row (no artifact: enough for the reads that only name the version)."""
    conn.execute(text("INSERT INTO model_versions (version, kind, status, artifact_path, trained_by) "
                      "VALUES (:v, 'behavioural', :s, '/nonexistent', 'test')"), {"v": version, "s": status})


def insert_score(conn: Connection, customer_id: int, *, as_of: date = date(2026, 11, 1), version: str = "v1",
                 pd: float = 0.2, tier: str = "High", model_tier: str | None = None, prev_tier: str | None = None,
                 exposure: float = 1000.0, action: str = "agent_call", benefit: float = 150.0) -> None:
    """A risk_scores row with one reason, as the nightly job writes them."""
    reasons = [{"code": "FAILED_DEBITS_30D", "feature": "failed_debits_30d", "family": "payments", "value": 2.0,
                "contribution": 0.8, "text": "2 auto-debits failed in the last 30 days"}]
    conn.execute(text(
        "INSERT INTO risk_scores (as_of, customer_id, model_version, pd, score, rating_band, tier, model_tier, "
        "prev_tier, reasons, exposure, expected_loss, recommended_action, expected_benefit, urgency) "
        "VALUES (:as_of, :c, :v, :pd, 600, 'D', :tier, :mt, :prev, CAST(:reasons AS jsonb), :exp, :el, :act, :eb, 2)"),
        {"as_of": as_of, "c": customer_id, "v": version, "pd": pd, "tier": tier, "mt": model_tier or tier,
         "prev": prev_tier, "reasons": json.dumps(reasons), "exp": exposure, "el": pd * exposure * 0.45,
         "act": action, "eb": benefit})


@dataclass
class Api:
    """An app on its own database: a client, an engine for checking rows, and one user and key per role."""

    client: TestClient
    engine: Engine
    settings: Settings
    users: dict[str, User] = field(default_factory=dict)
    keys: dict[str, str] = field(default_factory=dict)

    def auth(self, role: str = "officer") -> dict[str, str]:
        """The Authorization header for the role's user."""
        return {"Authorization": f"Bearer {self.keys[role]}"}

    def sql(self, query: str, **params: object) -> list:
        """Rows of a read-only query on the app's database (test helper)."""
        with self.engine.connect() as c:
            return list(c.execute(text(query), params))

    def write(self, fn: Callable[[Connection], object]) -> object:
        """fn's result, run in a committed transaction on the app's database."""
        with self.engine.begin() as c:
            return fn(c)


def release_engines(database_url: str) -> None:
    """Disposes the process-wide engines on this database so it can be dropped."""
    dispose_engines(make_url(database_url).database)


def make_api(settings: Settings, **app_kwargs: object) -> Iterator[Api]:
    """Yields an Api with an officer, a manager and an admin and their keys; releases connections after."""
    engine = create_engine(settings.database_url)
    api = Api(TestClient(create_app(settings, warm_up=False, **app_kwargs)), engine, settings)
    with engine.begin() as c:
        for role in ROLES:
            api.users[role] = create_user(c, f"{role}1", PASSWORD, role, SYSTEM, full_name=f"{role.title()} One")
            api.keys[role] = create_api_key(c, f"{role}1", SYSTEM)
    try:
        with api.client:
            yield api
    finally:
        engine.dispose()
        release_engines(settings.database_url)
