"""Applies the numbered SQL files in sql/ once each, in order, each in its own transaction; sets role passwords."""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg import sql
from sqlalchemy import Connection, Engine, text

from predelinquency.errors import PdeError
from predelinquency.settings import REPO_ROOT, Storage, get_settings

log = logging.getLogger(__name__)
SQL_DIR = REPO_ROOT / "sql"
_NAME = re.compile(r"^(\d{3})_[a-z0-9_]+\.sql$")
# any constant works; it only has to be the same for every process migrating this database
_MIGRATION_LOCK = 728_311_004
# version -> checksums of earlier texts of a file that a database having applied them needs nothing more from
# (002 learnt to check that TimescaleDB is preloaded before creating it); their record is brought up to date
REVISED = {"002": {"96fa9dc0715d6afa1acd9e4a42e7e0b340189d59582c3459b991757e782a7d6f"}}


@dataclass(frozen=True)
class Migration:
    version: str
    path: Path

    @property
    def sql(self) -> str:
        return self.path.read_text()

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.path.read_bytes()).hexdigest()


def discover(sql_dir: Path = SQL_DIR) -> list[Migration]:
    """Migration files in version order; a badly named file is an error, not silently skipped."""
    found = []
    for path in sorted(sql_dir.glob("*.sql")):
        m = _NAME.match(path.name)
        if not m:
            raise ValueError(f"migration file {path.name} must be named NNN_lowercase_name.sql")
        found.append(Migration(m.group(1), path))
    versions = [m.version for m in found]
    if len(set(versions)) != len(versions):
        raise ValueError(f"duplicate migration numbers in {sql_dir}")
    return found


def _ensure_table(conn: Connection) -> None:
    conn.execute(text(
        "CREATE TABLE IF NOT EXISTS schema_migrations ("
        " version text PRIMARY KEY, name text NOT NULL, checksum text NOT NULL,"
        " applied_at timestamptz NOT NULL DEFAULT now())"
    ))


def applied(conn: Connection) -> dict[str, str]:
    """version -> checksum of the migrations already applied."""
    _ensure_table(conn)
    return dict(conn.execute(text("SELECT version, checksum FROM schema_migrations")).all())


def migrate(engine: Engine, sql_dir: Path = SQL_DIR, storage: Storage | None = None) -> list[str]:
    """Names of the migrations this call applied (empty when the schema was already current); then sets the
    TimescaleDB storage policies from settings.storage (the process's settings unless given)."""
    done = _apply(engine, sql_dir)
    set_storage_policies(engine, storage or get_settings().storage)
    return done


def set_storage_policies(engine: Engine, storage: Storage) -> None:
    """Compression and retention policies on the time tables as settings.storage says (no-op without TimescaleDB
    or before sql/014)."""
    with engine.begin() as conn:
        if conn.execute(text("SELECT to_regprocedure('pde_storage_policies(integer, integer, integer)') IS NULL")
                        ).scalar_one():
            return
        conn.execute(text("SELECT pde_storage_policies(:h, :s, :r)"), {
            "h": storage.compress_history_after_days, "s": storage.compress_scores_after_days,
            "r": storage.retention_days})


def _apply(engine: Engine, sql_dir: Path) -> list[str]:
    done: list[str] = []
    for mig in discover(sql_dir):
        with engine.begin() as conn:
            conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _MIGRATION_LOCK})
            have = applied(conn)
            if mig.version in have:
                if have[mig.version] in REVISED.get(mig.version, ()):
                    conn.execute(text("UPDATE schema_migrations SET checksum = :c WHERE version = :v"),
                                 {"v": mig.version, "c": mig.checksum})
                elif have[mig.version] != mig.checksum:
                    log.warning("migration %s changed after it was applied", mig.path.name)
                continue
            log.info("applying %s", mig.path.name)
            # the raw cursor without parameters: the file is trusted multi-statement DDL whose
            # format('%s') calls must not be read as bind placeholders
            conn.connection.cursor().execute(mig.sql)
            conn.execute(
                text("INSERT INTO schema_migrations (version, name, checksum) VALUES (:v, :n, :c)"),
                {"v": mig.version, "n": mig.path.name, "c": mig.checksum},
            )
            done.append(mig.path.name)
    return done


def set_role_passwords(engine: Engine, passwords: dict[str, str]) -> list[str]:
    """The database roles (name -> password) whose password this call set, as the owner in one transaction.

    The password is sent as a SCRAM verifier computed here, as psql's \\password does: the server, its log and
    pg_stat_activity never see it in clear."""
    done: list[str] = []
    with engine.begin() as conn:
        raw = conn.connection.driver_connection
        for role, password in passwords.items():
            if not conn.execute(text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": role}).first():
                raise PdeError(f"role {role} does not exist on this server: run `pde db init` as a role that may "
                               "create roles, or have an administrator create it")
            verifier = raw.pgconn.encrypt_password(password.encode(), role.encode(), b"scram-sha-256").decode()
            try:
                raw.cursor().execute(sql.SQL("ALTER ROLE {} PASSWORD {}").format(sql.Identifier(role),
                                                                                 sql.Literal(verifier)))
            except psycopg.errors.InsufficientPrivilege:
                raise PdeError(f"{engine.url.username} may not set the password of role {role}: it needs "
                               "CREATEROLE") from None
            done.append(role)
    return done


def pending(engine: Engine, sql_dir: Path = SQL_DIR) -> list[str]:
    """Names of the migrations not applied yet; reads only (no table is created on a database never migrated)."""
    with engine.connect() as conn:
        if conn.execute(text("SELECT to_regclass('schema_migrations') IS NULL")).scalar():
            have: set[str] = set()
        else:
            have = {v for (v,) in conn.execute(text("SELECT version FROM schema_migrations"))}
    return [m.path.name for m in discover(sql_dir) if m.version not in have]


def ensure_schema(engine: Engine, embedded: bool) -> list[str]:
    """Brings the schema up to date on our own embedded server (names applied); on a server given by
    DATABASE_URL, whose schema changes its operator decides, says what to run instead."""
    missing = pending(engine)
    if not missing:
        return []
    if embedded:
        log.info("initialising the embedded database: %s", ", ".join(missing))
        return migrate(engine)
    raise PdeError(f"the database at DATABASE_URL needs {len(missing)} migration(s) ({missing[0]}"
                   f"{' …' if len(missing) > 1 else ''}): run `pde db init` first")
