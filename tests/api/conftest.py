"""Fixtures for the API tests: an app on a fresh (committed-to) database, users with API keys, scored customers.

Requests commit, so every app gets its own database cloned from the migrated template (`fresh_db`), dropped after.
Users are made through operations.create_user (with cheap argon2 parameters), customers and scores by plain SQL
(helpers in tests/support/api.py).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from predelinquency.operations import users as users_mod
from predelinquency.settings import Settings
from tests.support.api import Api, make_api
from tests.support.db import cloned_database
from tests.support.users import cheap_hasher


@pytest.fixture(autouse=True)
def fast_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Cheap argon2id parameters: the production ones are deliberately slow on the two shared cores."""
    monkeypatch.setattr(users_mod, "_hasher", cheap_hasher())


@pytest.fixture
def api(fresh_settings: Settings) -> Iterator[Api]:
    """An app on a fresh database with users and keys, no customers."""
    yield from make_api(fresh_settings)


@pytest.fixture(scope="module")
def module_settings(pg_server_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    """Settings on a database of this test module's own, cloned from the migrated template and dropped after.

    For tests that share one app across many requests (the fuzz run, the real pipeline); `fresh_settings` is
    the per-test equivalent.
    """
    with cloned_database(pg_server_url) as url:
        yield Settings(data_dir=tmp_path_factory.mktemp("api") / "data", database_url=url)
