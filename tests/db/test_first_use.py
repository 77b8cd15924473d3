"""The first command on a fresh data directory: the embedded database initialises itself and its application roles;
a server given by DATABASE_URL is never migrated behind its operator's back, and the user is told what to run."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from typer.testing import CliRunner

from predelinquency.cli import app
from predelinquency.db.engine import database_url, dispose_engines
from predelinquency.db.migrate import discover, ensure_schema, pending
from predelinquency.settings import Settings, get_settings
from tests.ingest.test_load import CUSTOMERS


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
        # least privilege: the first command created the application roles, and the application uses one
        assert json.loads(status.stdout)["role"] == {"name": "pde_app", "superuser": False}
        # on TimescaleDB the storage job is set with the default ages, aged from the business date (sql/016)
        job = json.loads(status.stdout)["storage_job"]
        assert (job is not None) == json.loads(status.stdout)["timescaledb"]
        if job is not None:
            assert job["config"] == {"history_days": 120, "scores_days": 90, "retention_days": None}
            text_status = _run(monkeypatch, data_dir, None, "db", "status")
            assert "storage job   compress history after 120 days, scores after 90 (before the business date), " \
                   "keep everything" in text_status.stdout
        folder = tmp_path / "files"
        folder.mkdir()
        (folder / "customers.csv").write_bytes(CUSTOMERS)
        loaded = _run(monkeypatch, data_dir, None, "ingest", "--customers", str(folder / "customers.csv"), "--json")
        assert loaded.exit_code == 0 and json.loads(loaded.stdout)["rows"] == {"customers": 2}  # as pde_jobs

        monkeypatch.setenv("PDE_APP_PASSWORD", "a secret of the app")
        init = _run(monkeypatch, data_dir, None, "db", "init", "--json")
        assert init.exit_code == 0 and json.loads(init.stdout) == {"applied": [], "passwords_set": ["pde_app"]}
        assert "a secret" not in init.output
        owner = create_engine(database_url(Settings(data_dir=data_dir), "owner"))
        with owner.connect() as c:
            roles = c.execute(text("SELECT rolname, rolsuper, rolpassword FROM pg_authid "
                                   "WHERE rolname IN ('pde_app', 'pde_jobs') ORDER BY 1")).all()
        owner.dispose()
        assert [(r.rolname, r.rolsuper) for r in roles] == [("pde_app", False), ("pde_jobs", False)]
        assert roles[0].rolpassword.startswith("SCRAM-SHA-256$") and roles[1].rolpassword is None
    finally:
        _run(monkeypatch, data_dir, None, "db", "stop")
