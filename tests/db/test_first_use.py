"""The first command on a fresh data directory: the embedded database initialises itself; a server given by
DATABASE_URL is never migrated behind its operator's back, and the user is told what to run."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from typer.testing import CliRunner

from predelinquency.cli import app
from predelinquency.db.engine import dispose_engines
from predelinquency.db.migrate import discover, ensure_schema, pending
from predelinquency.settings import get_settings


@pytest.fixture
def empty_db(pg_server_url: str) -> Iterator[str]:
    """URL of a database with no tables at all (not cloned from the migrated template)."""
    name = f"pde_empty_{uuid.uuid4().hex[:8]}"
    admin = create_engine(pg_server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f"CREATE DATABASE {name}"))
    url = make_url(pg_server_url).set(database=name).render_as_string(hide_password=False)
    yield url
    dispose_engines(name)
    with admin.connect() as c:
        c.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
    admin.dispose()


def _run(monkeypatch: pytest.MonkeyPatch, data_dir: Path, database_url: str | None, *args: str):
    if database_url:
        monkeypatch.setenv("DATABASE_URL", database_url)
    else:
        monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setenv("PDE_DATA_DIR", str(data_dir))
    get_settings.cache_clear()
    try:
        return CliRunner().invoke(app, list(args))
    finally:
        get_settings.cache_clear()


def test_an_unmigrated_server_given_by_url_is_named_not_migrated(empty_db: str, tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch):
    result = _run(monkeypatch, tmp_path / "data", empty_db, "model", "list", "--json")
    assert result.exit_code != 0
    assert "run `pde db init`" in str(result.exception)
    assert pending(create_engine(empty_db)) == [m.path.name for m in discover()]  # nothing was applied


def test_ensure_schema_applies_every_migration_once_on_our_own_server(empty_db: str):
    engine = create_engine(empty_db)
    applied = ensure_schema(engine, embedded=True)
    assert applied == [m.path.name for m in discover()]
    assert ensure_schema(engine, embedded=True) == [] and pending(engine) == []
    engine.dispose()


def test_the_first_command_on_a_fresh_data_directory_works(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    data_dir = tmp_path / "data"
    try:
        listed = _run(monkeypatch, data_dir, None, "model", "list", "--json")
        assert listed.exit_code == 0, listed.output
        assert '"models": []' in listed.stdout
        status = _run(monkeypatch, data_dir, None, "db", "status", "--json")
        assert status.exit_code == 0 and '"customers": 0' in status.stdout
    finally:
        _run(monkeypatch, data_dir, None, "db", "stop")
