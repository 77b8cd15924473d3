"""Fixtures for the operations tests: customers and risk scores by plain SQL, users through create_user
(helpers in tests/support/operations.py)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from argon2 import PasswordHasher
from sqlalchemy import Connection

from predelinquency.operations import users as users_mod
from tests.support.operations import People, insert_customer, make_people
from tests.support.users import cheap_hasher


@pytest.fixture(autouse=True)
def fast_hashing(monkeypatch: pytest.MonkeyPatch) -> PasswordHasher:
    """Cheap argon2id parameters: the production ones are deliberately slow on the two shared cores."""
    hasher = cheap_hasher()
    monkeypatch.setattr(users_mod, "_hasher", hasher)
    return hasher


@pytest.fixture
def make_customer(conn: Connection) -> Callable[..., int]:
    """Factory: insert_customer on the test's rolled-back connection."""
    return lambda *a, **kw: insert_customer(conn, *a, **kw)


@pytest.fixture
def customer(make_customer: Callable[..., int]) -> int:
    """One customer's id."""
    return make_customer()


@pytest.fixture
def people(conn: Connection) -> People:
    """The standard cast, created on the test's rolled-back connection."""
    return make_people(conn)
