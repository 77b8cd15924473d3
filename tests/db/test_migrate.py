import pytest
from sqlalchemy import Connection, create_engine, text
from sqlalchemy.exc import DataError

from predelinquency.db.migrate import discover, migrate
from predelinquency.db.status import database_status, time_table_kind
from predelinquency.domain.vocabulary import TXN_CATEGORIES, TXN_CHANNELS


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


def server_has_timescaledb(conn: Connection) -> bool:
    """What the migrations should have found: the extension's files on the server and the library preloaded."""
    preloaded = "timescaledb" in conn.execute(text("SHOW shared_preload_libraries")).scalar_one()
    return preloaded and bool(conn.execute(text(
        "SELECT count(*) FROM pg_available_extensions WHERE name = 'timescaledb'")).scalar_one())


def test_time_tables_are_hypertables_with_timescaledb_else_partitioned(conn: Connection):
    timescale = server_has_timescaledb(conn)
    assert conn.execute(text("SELECT pde_timescale_active()")).scalar() is timescale
    for table in ("transactions", "daily_balances", "risk_scores"):
        assert time_table_kind(conn, table) == ("hypertable" if timescale else "partitioned")


def test_ensure_partitions_creates_monthly_partitions_unless_hypertables(conn: Connection):
    conn.execute(text("SELECT pde_ensure_partitions('daily_balances', DATE '2026-01-15', DATE '2026-03-02')"))
    names = conn.execute(text(
        "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
        "WHERE i.inhparent = 'daily_balances'::regclass ORDER BY 1")).scalars().all()
    if server_has_timescaledb(conn):
        assert names == []  # a hypertable makes its chunks as rows arrive
    else:
        assert {"daily_balances_202601", "daily_balances_202602", "daily_balances_202603"} <= set(names)
    # a second call is a no-op, not an error
    conn.execute(text("SELECT pde_ensure_partitions('daily_balances', DATE '2026-01-15', DATE '2026-03-02')"))


def test_status_reports_tables(conn: Connection):
    status = database_status(conn)
    timescale = server_has_timescaledb(conn)
    assert status["timescaledb"] is timescale
    assert status["row_counts"]["customers"] == 0
    assert status["time_tables"]["risk_scores"] == ("hypertable" if timescale else "partitioned")
    # the role it connects as, and whether that is a superuser: the test server's own role is one
    assert status["role"] == {"name": conn.execute(text("SELECT current_user")).scalar(), "superuser": True}


def test_transaction_enums_match_the_ingest_schema(conn: Connection):
    def labels(type_name: str) -> tuple[str, ...]:
        return tuple(conn.execute(text(
            "SELECT enumlabel FROM pg_enum WHERE enumtypid = CAST(:t AS regtype) ORDER BY enumsortorder"),
            {"t": type_name}).scalars())

    assert labels("txn_category") == TXN_CATEGORIES
    assert labels("txn_channel") == TXN_CHANNELS
    assert labels("txn_status") == ("posted", "failed")


def test_transactions_refuse_an_unknown_category(conn: Connection):
    conn.execute(text("SELECT pde_ensure_partitions('transactions', DATE '2026-01-01', DATE '2026-01-31')"))
    insert = text("INSERT INTO transactions (txn_id, customer_id, account_id, ts, amount, category, channel) "
                  "VALUES (1, 1, 11, TIMESTAMPTZ '2026-01-05 10:00+00', -5, :c, 'card')")
    conn.execute(insert, {"c": "groceries"})
    assert conn.execute(text("SELECT status FROM transactions WHERE txn_id = 1")).scalar_one() == "posted"
    with pytest.raises(DataError, match="invalid input value for enum txn_category"):
        conn.execute(insert, {"c": "casino"})
