"""Test databases on the session's embedded server: clones of a template, dropped after, and rolled-back connections."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from psycopg.errors import ObjectInUse
from sqlalchemy import Connection, Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from predelinquency.db.engine import dispose_engines

TEMPLATE = "pde_template"  # migrated, empty: what `pde db init` gives
DEMO_TEMPLATE = "pde_demo_template"  # the session's demo bank (tests/conftest.py)
ADVANCED_TEMPLATE = "pde_advanced_template"  # the demo bank advanced with the plan worked (tests/conftest.py)


def _admin(server_url: str, sql: str) -> None:
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as c:
            c.execute(text(sql))
    finally:
        admin.dispose()


def create_database(server_url: str, template: str | None = TEMPLATE, name: str | None = None) -> str:
    """URL of a new database copied from template (None: a bare database, not even migrated)."""
    name = name or f"pde_{uuid.uuid4().hex[:12]}"
    for attempt in range(20):
        try:
            _admin(server_url, f"CREATE DATABASE {name}" + (f" TEMPLATE {template}" if template else ""))
            break
        except OperationalError as exc:
            if not isinstance(exc.orig, ObjectInUse):
                raise
            # on a TimescaleDB server whose background workers we do not control (PDE_TEST_DATABASE_URL), a
            # scheduler connects to the template now and then; our own test servers run without them
            if attempt == 19:
                raise
            time.sleep(0.5)
    return make_url(server_url).set(database=name).render_as_string(hide_password=False)


def drop_templates(server_url: str) -> None:
    """Drops the session's template databases (a server given by PDE_TEST_DATABASE_URL outlives sessions)."""
    for name in (ADVANCED_TEMPLATE, DEMO_TEMPLATE, TEMPLATE):
        _admin(server_url, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def drop_database(server_url: str, db_url: str) -> None:
    """Drops the database, closing this process's pooled connections and ending anybody else's."""
    name = make_url(db_url).database
    dispose_engines(name)
    _admin(server_url, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@contextmanager
def cloned_database(server_url: str, template: str | None = TEMPLATE) -> Iterator[str]:
    """URL of a new copy of template for the duration of the block; dropped after it."""
    url = create_database(server_url, template)
    try:
        yield url
    finally:
        drop_database(server_url, url)


def as_role(db_url: str, role: str) -> str:
    """The same database's URL, logged in as another role (the session's server trusts its local socket)."""
    return make_url(db_url).set(username=role).render_as_string(hide_password=False)


@contextmanager
def role_engine(db_url: str, role: str) -> Iterator[Engine]:
    """An engine on the database logged in as the role (pde_app, pde_jobs), disposed after the block."""
    engine = create_engine(as_role(db_url, role))
    try:
        yield engine
    finally:
        engine.dispose()


@contextmanager
def rolled_back(engine: Engine) -> Iterator[Connection]:
    """A connection in a transaction that is rolled back after the block: nothing written through it stays."""
    with engine.connect() as connection:
        trans = connection.begin()
        try:
            yield connection
        finally:
            trans.rollback()
