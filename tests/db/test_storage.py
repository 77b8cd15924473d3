"""Storage on TimescaleDB (sql/014): policies from settings.storage, and the product on really compressed chunks.

The compressed-chunk tests skip on plain PostgreSQL; the TimescaleDB run (PDE_TEST_TIMESCALEDB) runs them."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta

import pytest
from sqlalchemy import Connection, Engine, create_engine, text

from predelinquency.api.queries import customer_history
from predelinquency.db.migrate import set_storage_policies
from predelinquency.db.rollup import rollup_mismatches
from predelinquency.db.status import database_status, time_table_kind
from predelinquency.operations.uploads import validate_and_upload
from predelinquency.scoring.nightly import run_nightly
from predelinquency.settings import Settings, Storage
from predelinquency.simulate.generate import generate_bank
from tests.support.bank import DemoBank
from tests.support.users import SYSTEM

TIME_TABLES = ("transactions", "daily_balances", "risk_scores")


def _storage_jobs(conn: Connection) -> dict[str, dict | None]:
    """The storage jobs on the time tables by procedure: ours (config) and any TimescaleDB clock-aged policy."""
    rows = conn.execute(text("SELECT proc_name, config FROM timescaledb_information.jobs WHERE proc_name IN "
                             "('pde_storage_job', 'policy_compression', 'policy_retention')")).all()
    return {p: c for p, c in rows}


def _compress_all(conn: Connection) -> int:
    """Compresses every chunk of the time tables, as the policies would once they are old enough."""
    return sum(conn.execute(text(
        "SELECT count(compress_chunk(c, if_not_compressed => true)) FROM show_chunks(CAST(:t AS regclass)) c"),
        {"t": t}).scalar_one() for t in TIME_TABLES)


def test_storage_policies_follow_the_settings(fresh_db: str):
    engine = create_engine(fresh_db)
    try:
        with engine.connect() as conn:
            hyper = time_table_kind(conn, "transactions") == "hypertable"
        set_storage_policies(engine, Storage(compress_margin_days=10, compress_scores_after_days=40,
                                             retention_days=400))
        if not hyper:  # native partitions: the policies are TimescaleDB's; nothing is set, nothing fails
            with engine.connect() as conn:
                assert conn.execute(text("SELECT count(*) FROM pg_extension WHERE extname = 'timescaledb'")
                                    ).scalar_one() == 0
            return
        with engine.connect() as conn:
            jobs = _storage_jobs(conn)
            job_id = conn.execute(text("SELECT job_id FROM timescaledb_information.jobs "
                                       "WHERE proc_name = 'pde_storage_job'")).scalar_one()
        # one job, aged by the business date; none of TimescaleDB's clock-aged policies (sql/016)
        assert jobs == {"pde_storage_job": {"history_days": 100, "scores_days": 40, "retention_days": 400}}
        set_storage_policies(engine, Storage(compress_margin_days=10, compress_scores_after_days=40))
        with engine.connect() as conn:
            assert _storage_jobs(conn)["pde_storage_job"]["retention_days"] is None  # default: keep everything
            # the job is kept, its config changed (every `pde db init` sets it)
            assert conn.execute(text("SELECT job_id FROM timescaledb_information.jobs "
                                     "WHERE proc_name = 'pde_storage_job'")).scalar_one() == job_id
    finally:
        engine.dispose()


def _chunks(conn: Connection, table: str) -> list[tuple[date, date, bool]]:
    """(start, end, compressed) of each chunk of a time table, as dates."""
    return [(lo.date(), hi.date(), z) for lo, hi, z in conn.execute(text(
        "SELECT range_start AT TIME ZONE 'UTC', range_end AT TIME ZONE 'UTC', is_compressed "
        "FROM timescaledb_information.chunks WHERE hypertable_name = :t ORDER BY range_start"), {"t": table}).all()]


def test_storage_ages_count_from_the_business_date_not_the_clock(compressed: Engine):
    engine = compressed
    set_storage_policies(engine, Storage(compress_margin_days=0, compress_scores_after_days=10, retention_days=150))
    with engine.connect() as conn:
        today = conn.execute(text("SELECT pde_business_date()")).scalar_one()
        job = conn.execute(text("SELECT job_id FROM timescaledb_information.jobs "
                                "WHERE proc_name = 'pde_storage_job'")).scalar_one()
        before = {t: _chunks(conn, t) for t in TIME_TABLES}
    # the demo bank's business date lags the server's clock: a clock-aged policy would compress more
    assert today < date.today() - timedelta(days=7)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("CALL run_job(:j)"), {"j": job})  # the job commits chunk by chunk
    with engine.connect() as conn:
        after = {t: _chunks(conn, t) for t in TIME_TABLES}
        job_status = database_status(conn)["storage_job"]
    assert job_status["job_id"] == job and job_status["config"]["retention_days"] == 150
    for table, age in (("transactions", 90), ("daily_balances", 90), ("risk_scores", 10)):
        kept = [c for c in before[table] if c[1] > today - timedelta(days=150)]
        assert [c[:2] for c in after[table]] == [c[:2] for c in kept], f"{table}: retention by business date"
        assert len(kept) < len(before[table]) or table == "risk_scores"
        for lo, hi, compressed in after[table]:
            assert compressed == (hi <= today - timedelta(days=age)), (table, lo, hi)
    assert any(z for _, _, z in after["transactions"]) and not all(z for _, _, z in after["transactions"])


@pytest.fixture
def compressed(demo_db: str) -> Iterator[Engine]:
    """The demo bank on hypertables, whose chunks each test compresses (TimescaleDB only)."""
    engine = create_engine(demo_db)
    with engine.begin() as conn:
        if time_table_kind(conn, "transactions") != "hypertable":
            engine.dispose()
            pytest.skip("plain PostgreSQL has no compressed chunks (the TimescaleDB run covers this)")
    yield engine
    engine.dispose()


def test_status_lists_each_hypertable_and_its_compression(compressed: Engine):
    with compressed.begin() as conn:
        before = {h["name"]: h for h in database_status(conn)["hypertables"]}
        assert set(before) == set(TIME_TABLES) and all(h["compressed_chunks"] == 0 for h in before.values())
        assert _compress_all(conn) == sum(h["chunks"] for h in before.values())
        after = {h["name"]: h for h in database_status(conn)["hypertables"]}
    for name, h in after.items():
        assert h["compressed_chunks"] == h["chunks"] == before[name]["chunks"] > 0
        assert h["after_compression_bytes"] < h["before_compression_bytes"], name


def test_the_product_works_on_compressed_chunks(compressed: Engine, demo_settings: Settings, demo_bank: DemoBank):
    customer = 7
    scores = text("SELECT customer_id, pd, tier FROM risk_scores WHERE as_of = :d ORDER BY customer_id")
    with compressed.begin() as conn:
        history = customer_history(conn, customer, 50)
        first_run = conn.execute(scores, {"d": demo_bank.as_ofs[0]}).all()
        assert _compress_all(conn) > 0
    with compressed.connect() as conn:
        # the Deep Dive's history reads compressed risk_scores
        assert customer_history(conn, customer, 50) == history

    # a nightly backfill replaces an earlier day's scores inside a compressed chunk, with the same results
    result = run_nightly(compressed, demo_settings, "system:scheduler", demo_bank.as_ofs[0])
    with compressed.connect() as conn:
        assert conn.execute(scores, {"d": demo_bank.as_ofs[0]}).all() == first_run and result.rows == len(first_run)

    # a back-dated upload lands in a compressed chunk and the rollup recomputes the days after it
    with compressed.connect() as conn:
        first, last = conn.execute(text("SELECT min(day), max(day) FROM daily_balances")).one()
        account = conn.execute(text("SELECT account_id FROM accounts WHERE customer_id = :c "
                                    "AND product_type = 'current'"), {"c": customer}).scalar_one()
        day = first + timedelta(days=10)
        balance = conn.execute(text("SELECT balance FROM daily_balances WHERE customer_id = :c AND day = :d"),
                               {"c": customer, "d": last}).scalar_one()
    txns = ("txn_id,customer_id,account_id,ts,amount,category,channel,status\n"
            f"999000001,{customer},{account},{day}T10:00:00Z,-123.45,groceries,card,posted\n").encode()
    with compressed.begin() as conn:
        assert validate_and_upload(conn, SYSTEM, {"transactions": txns})["transactions"] == 1
    with compressed.connect() as conn:
        assert conn.execute(text("SELECT balance FROM daily_balances WHERE customer_id = :c AND day = :d"),
                            {"c": customer, "d": last}).scalar_one() == pytest.approx(balance - 123.45)
        assert rollup_mismatches(conn, first, last) == 0

    # generate --reset empties the compressed tables and writes a new bank
    summary = generate_bank(compressed, demo_settings, customers=60, days=120, seed=11, reset=True, actor="cli:test")
    with compressed.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM customers")).scalar_one() == 60
        assert conn.execute(text("SELECT count(*) FROM transactions")).scalar_one() == summary["transactions"]
        assert conn.execute(text("SELECT count(*) FROM risk_scores")).scalar_one() == 0
