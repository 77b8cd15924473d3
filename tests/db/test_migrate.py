from sqlalchemy import Connection, create_engine, text

from predelinquency.db.migrate import discover, migrate
from predelinquency.db.status import database_status, time_table_kind


def test_migrations_are_numbered_in_order():
    versions = [m.version for m in discover()]
    assert versions == sorted(versions) and len(versions) >= 2


def test_migrate_twice_changes_nothing(fresh_db: str):
    eng = create_engine(fresh_db)
    assert migrate(eng) == []  # the template is already migrated
    with eng.connect() as c:
        before = c.execute(text("SELECT version, checksum, applied_at FROM schema_migrations ORDER BY 1")).all()
    assert migrate(eng) == []
    with eng.connect() as c:
        after = c.execute(text("SELECT version, checksum, applied_at FROM schema_migrations ORDER BY 1")).all()
    assert before == after and len(after) == len(discover())
    eng.dispose()


def test_time_tables_are_partitioned_without_timescaledb(conn: Connection):
    assert conn.execute(text("SELECT pde_timescale_active()")).scalar() is False
    for table in ("transactions", "daily_balances", "risk_scores"):
        assert time_table_kind(conn, table) == "partitioned"


def test_ensure_partitions_creates_monthly_partitions(conn: Connection):
    conn.execute(text("SELECT pde_ensure_partitions('daily_balances', DATE '2026-01-15', DATE '2026-03-02')"))
    names = conn.execute(text(
        "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
        "WHERE i.inhparent = 'daily_balances'::regclass ORDER BY 1")).scalars().all()
    assert {"daily_balances_202601", "daily_balances_202602", "daily_balances_202603"} <= set(names)
    # a second call is a no-op, not an error
    conn.execute(text("SELECT pde_ensure_partitions('daily_balances', DATE '2026-01-15', DATE '2026-03-02')"))


def test_status_reports_tables(conn: Connection):
    status = database_status(conn)
    assert status["timescaledb"] is False
    assert status["row_counts"]["customers"] == 0
    assert status["time_tables"]["risk_scores"] == "partitioned"
