"""Operations test helpers: customers and risk scores by plain SQL, the standard cast of users, row counts."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import date

from sqlalchemy import Connection, text

from predelinquency.operations.accounts import User
from predelinquency.operations.users import create_user
from tests.support.users import PASSWORD, SYSTEM

_ids = itertools.count(900_001)


def insert_customer(conn: Connection, customer_id: int | None = None, name: str = "Test Customer") -> int:
    """A new customer row's id (plain SQL, as the simulator or ingest would write it)."""
    customer_id = customer_id or next(_ids)
    conn.execute(text(
        "INSERT INTO customers (customer_id, full_name, age, employment_type, segment, region, monthly_income, "
        "salary_day, tenure_months) VALUES (:id, :n, 40, 'salaried', 'mass', 'North', 3000, 25, 36)"),
        {"id": customer_id, "n": name})
    return customer_id


def insert_score(conn: Connection, customer_id: int, tier: str = "High", pd: float = 0.2,
                 as_of: date = date(2024, 6, 1), expected_benefit: float = 150.0, model_version: str = "v1") -> None:
    """A risk_scores row for the customer (only the columns the operations read are meaningful)."""
    conn.execute(text(
        "INSERT INTO risk_scores (as_of, customer_id, model_version, pd, score, rating_band, tier, model_tier, "
        "reasons, exposure, expected_loss, recommended_action, expected_benefit, urgency) "
        "VALUES (:as_of, :c, :mv, :pd, 600, 'D', :tier, :tier, '[]', 1000, 90, 'agent_call', :eb, 2)"),
        {"as_of": as_of, "c": customer_id, "mv": model_version, "pd": pd, "tier": tier, "eb": expected_benefit})


@dataclass
class People:
    """The standard cast: two officers, a manager and an admin."""

    officer: User
    other_officer: User
    manager: User
    admin: User


def make_people(conn: Connection) -> People:
    """Two officers, a manager and an admin, all with PASSWORD."""
    return People(
        officer=create_user(conn, "olivia", PASSWORD, "officer", SYSTEM, full_name="Olivia Officer"),
        other_officer=create_user(conn, "oscar", PASSWORD, "officer", SYSTEM),
        manager=create_user(conn, "maria", PASSWORD, "manager", SYSTEM),
        admin=create_user(conn, "adam", PASSWORD, "admin", SYSTEM),
    )


def count(conn: Connection, table: str, where: str = "true", **params: object) -> int:
    """Rows in a table (test helper; table and where come from the test code, never from input)."""
    return conn.execute(text(f"SELECT count(*) FROM {table} WHERE {where}"), params).scalar_one()
