"""Least privilege (sql/010_roles.sql, db/engine.py): the dashboard, the API and the operations work as pde_app, the
nightly and the loads as pde_jobs, and neither can change, remove, back-date or switch off the audit trail."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.exc import DBAPIError

from predelinquency.db.audit import write_audit
from predelinquency.db.engine import ROLE_NAMES, database_url
from predelinquency.db.status import time_table_kind
from predelinquency.model.registry import promote
from predelinquency.model.tabular import train_file
from predelinquency.operations import users as users_mod
from predelinquency.operations.apikeys import create_api_key, revoke_api_key
from predelinquency.operations.assignments import assign_customer
from predelinquency.operations.audit import verify_chain
from predelinquency.operations.interventions import create_intervention
from predelinquency.operations.outcomes import record_outcome
from predelinquency.operations.snoozes import snooze_customer
from predelinquency.operations.uploads import validate_and_upload
from predelinquency.operations.users import AuthError, authenticate, deactivate_user, set_password
from predelinquency.scoring.nightly import run_nightly
from predelinquency.settings import REPO_ROOT, Settings
from tests.conftest import fast_training
from tests.ingest.test_load import ACCOUNTS, CUSTOMERS, PAYMENTS, TXNS
from tests.support.bank import DemoBank
from tests.support.db import role_engine
from tests.support.operations import make_people
from tests.support.synthetic import make_table
from tests.support.users import PASSWORD, SYSTEM, cheap_hasher

APPLICATION_ROLES = tuple(ROLE_NAMES.values())
INSUFFICIENT_PRIVILEGE = "42501"
FILES = {"customers": CUSTOMERS, "accounts": ACCOUNTS, "transactions": TXNS, "payments": PAYMENTS}


@pytest.fixture(autouse=True)
def fast_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(users_mod, "_hasher", cheap_hasher())


def _refusal(engine: Engine, sql: str) -> str:
    """The database's refusal of the statement (insufficient privilege), run in a transaction of its own."""
    with pytest.raises(DBAPIError) as caught, engine.begin() as conn:
        conn.execute(text(sql))
    assert caught.value.orig.sqlstate == INSUFFICIENT_PRIVILEGE, caught.value.orig
    return str(caught.value.orig)


def _owned_by(conn, role: str) -> int:
    return conn.execute(text("SELECT count(*) FROM pg_class WHERE relowner = "
                             "(SELECT oid FROM pg_roles WHERE rolname = :r)"), {"r": role}).scalar_one()


def test_the_application_roles_are_neither_superusers_nor_owners(fresh_db: str):
    owner = create_engine(fresh_db)
    with owner.connect() as conn:
        roles = conn.execute(text(
            "SELECT rolname, rolsuper, rolcreatedb, rolcreaterole, rolreplication, rolbypassrls, rolcanlogin "
            "FROM pg_roles WHERE rolname LIKE 'pde\\_%' ORDER BY 1")).all()
        assert [tuple(r) for r in roles] == [(r, False, False, False, False, False, True) for r in APPLICATION_ROLES]
        assert [_owned_by(conn, r) for r in APPLICATION_ROLES] == [0, 0]
    owner.dispose()


def test_the_operations_work_as_pde_app(fresh_db: str, tmp_path: Path):
    settings = Settings(data_dir=tmp_path / "data", database_url=fresh_db)
    owner = create_engine(fresh_db)
    with owner.begin() as conn:  # two model versions to promote between (registered by training, as pde_jobs)
        conn.execute(text("INSERT INTO model_versions (version, kind, status, artifact_path, trained_by) VALUES "
                          "('v1', 'behavioural', 'champion', '/none', 'test'), "
                          "('v2', 'behavioural', 'challenger', '/none', 'test')"))
    owner.dispose()
    with role_engine(fresh_db, "pde_app") as app, app.begin() as conn:
        # the Data Management upload: COPY into the raw tables, the back-dated daily rows, the audit row
        assert validate_and_upload(conn, SYSTEM, FILES) == {"customers": 2, "accounts": 3, "transactions": 2,
                                                             "payments": 1}
        people = make_people(conn)
        with pytest.raises(AuthError):
            authenticate(conn, "olivia", "not her password", settings)
        set_password(conn, "oscar", "another long password", people.admin)
        deactivate_user(conn, "oscar", people.admin)
        revoke_api_key(conn, create_api_key(conn, "olivia", people.admin), people.admin)
        assign_customer(conn, people.officer, 501, "olivia")
        assign_customer(conn, people.manager, 501, "maria")  # ends the current assignment (UPDATE)
        made = create_intervention(conn, people.officer, 501, "agent_call", "phone", settings)
        done = record_outcome(conn, people.officer, made["intervention_id"], "promise_to_pay")
        assert done["intervention"]["status"] == "completed"
        today = conn.execute(text("SELECT current_date")).scalar_one()
        snooze_customer(conn, people.officer, 502, today + timedelta(days=7), "on holiday")
        assert promote(conn, "v2", "cli:test")["changed"] is True
        assert authenticate(conn, "olivia", PASSWORD, settings).username == "olivia"
        assert verify_chain(conn)["intact"]


@pytest.mark.parametrize("role", APPLICATION_ROLES)
def test_bank_files_load_as_either_role(fresh_db: str, role: str):
    """The dashboard's upload runs as pde_app, `pde ingest` as pde_jobs: the same load, partitions made as the
    owner."""
    with role_engine(fresh_db, role) as engine:
        with engine.begin() as conn:
            assert validate_and_upload(conn, SYSTEM, FILES)["transactions"] == 2
        with engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM daily_balances")).scalar_one() == 0
            assert _owned_by(conn, role) == 0
            # only the time tables take partitions this way
            with pytest.raises(DBAPIError, match="not a time-series table"):
                conn.execute(text("SELECT pde_ensure_partitions('users', DATE '2026-01-01', DATE '2026-01-31')"))


def test_the_nightly_runs_as_pde_jobs(demo_db: str, demo_settings: Settings, demo_bank: DemoBank):
    owner = create_engine(demo_db)
    with owner.connect() as conn:
        bumps = conn.execute(text("SELECT version FROM data_versions WHERE table_name = 'risk_scores'")).scalar_one()
    with role_engine(demo_db, "pde_jobs") as jobs:
        # an earlier day again: replaces its rows (DELETE), marks later stored scores stale (data_versions)
        result = run_nightly(jobs, demo_settings, "system:scheduler", demo_bank.as_ofs[0])
        assert result.rows > 0
        with jobs.begin() as conn:
            conn.execute(text("SELECT pde_ensure_partitions('risk_scores', DATE '2031-01-01', DATE '2031-01-01')"))
            assert _owned_by(conn, "pde_jobs") == 0
    with owner.connect() as conn:
        assert conn.execute(text(
            "SELECT count(*) FROM risk_scores WHERE as_of = :d AND batch_run_id = :r"),
            {"d": demo_bank.as_ofs[0], "r": result.run_id}).scalar_one() == result.rows
        assert conn.execute(text(
            "SELECT version FROM data_versions WHERE table_name = 'risk_scores'")).scalar_one() == bumps + 1
        assert conn.execute(text("SELECT status FROM batch_runs WHERE run_id = :r"),
                            {"r": result.run_id}).scalar_one() == "succeeded"
        owner_of_partition = conn.execute(text(
            "SELECT r.rolname FROM pg_class c JOIN pg_roles r ON r.oid = c.relowner "
            "WHERE c.relname = 'risk_scores_203101'")).scalar()
        # a hypertable makes its chunks as rows arrive: pde_ensure_partitions has nothing to create there
        hyper = time_table_kind(conn, "risk_scores") == "hypertable"
        assert owner_of_partition == (None if hyper else "postgres")
    owner.dispose()


def test_training_registers_a_model_as_pde_jobs(fresh_db: str, tmp_path: Path):
    X, y, _ = make_table(600, seed=3)
    table = tmp_path / "loans.csv"
    X.assign(defaulted=y).to_csv(table, index=False)
    settings = fast_training(Settings(data_dir=tmp_path / "data", database_url=fresh_db))
    with role_engine(fresh_db, "pde_jobs") as jobs:
        trained = train_file(settings, jobs, table, "defaulted", actor="cli:test")
        with jobs.connect() as conn:
            assert conn.execute(text("SELECT status FROM model_versions WHERE version = :v"),
                                {"v": trained["version"]}).scalar_one() == "champion"
            assert conn.execute(text("SELECT status FROM batch_runs WHERE kind = 'train'")).scalar_one() == "succeeded"


@pytest.fixture(params=APPLICATION_ROLES)
def role_db(request: pytest.FixtureRequest, fresh_db: str) -> Iterator[Engine]:
    """An engine as each application role on a fresh database whose audit trail holds one row."""
    with role_engine(fresh_db, request.param) as engine:
        with engine.begin() as conn:
            write_audit(conn, "system:test", "before_tampering", "test", "1", None, {"n": 1})
        yield engine


@pytest.mark.parametrize("sql", [
    "UPDATE action_audit_log SET actor = 'someone else'",
    "DELETE FROM action_audit_log",
    "TRUNCATE action_audit_log",
    "ALTER TABLE action_audit_log DISABLE TRIGGER action_audit_log_no_update_delete",
    "ALTER TABLE action_audit_log DISABLE TRIGGER USER",
    "DROP TRIGGER action_audit_log_chain ON action_audit_log",
    "ALTER TABLE action_audit_log ALTER COLUMN at DROP NOT NULL",
    "SET session_replication_role = replica",
    "CREATE TABLE my_own (i int)",
    "SELECT setval('action_audit_log_audit_id_seq', 1)",
])
def test_neither_role_can_change_the_audit_trail_or_the_schema(role_db: Engine, sql: str):
    _refusal(role_db, sql)
    with role_db.connect() as conn:
        assert verify_chain(conn)["intact"]
        assert conn.execute(text("SELECT count(*) FROM action_audit_log")).scalar_one() == 1


def test_a_back_dated_or_pre_hashed_insert_is_neutralised(role_db: Engine):
    with role_db.begin() as conn:
        started = conn.execute(text("SELECT clock_timestamp()")).scalar_one()
        conn.execute(text("INSERT INTO action_audit_log (at, actor, action, entity, seq, prev_hash, row_hash) "
                          "VALUES (TIMESTAMPTZ '2001-01-01 00:00+00', 'x', 'back_dated', 'test', 99, "
                          "'\\x00', '\\x00')"))
    with role_db.connect() as conn:
        row = conn.execute(text("SELECT at, seq, row_hash FROM action_audit_log WHERE action = 'back_dated'")).one()
        assert row.at >= started and row.seq == 2 and row.row_hash != b"\x00"
        assert verify_chain(conn)["intact"]


def test_each_role_has_its_url():
    given = Settings(database_url="postgresql://pde_app:a@db/pde", database_jobs_url="postgresql://pde_jobs:j@db/pde",
                     database_owner_url="postgres://pde:o@db/pde")
    assert database_url(given, "app") == "postgresql+psycopg://pde_app:a@db/pde"
    assert database_url(given, "jobs") == "postgresql+psycopg://pde_jobs:j@db/pde"
    assert database_url(given, "owner") == "postgresql+psycopg://pde:o@db/pde"
    # without the others, DATABASE_URL serves every role: the operator decides which role it names
    only = Settings(database_url="postgresql://someone@db/pde")
    assert {database_url(only, r) for r in ("app", "jobs", "owner")} == {"postgresql+psycopg://someone@db/pde"}


def test_every_entry_point_names_the_role_it_connects_as():
    unnamed = []
    for path in [*(REPO_ROOT / "src").rglob("*.py"), *(REPO_ROOT / "dashboard").rglob("*.py")]:
        for node in ast.walk(ast.parse(path.read_text())):
            if (isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", None))
                    in ("get_engine", "database_url") and len(node.args) < 2
                    and not any(k.arg == "role" for k in node.keywords)):
                unnamed.append(f"{path.relative_to(REPO_ROOT)}:{node.lineno}")
    assert unnamed == []
