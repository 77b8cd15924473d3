"""Benchmark the nightly in this process against the same nightly on a Dask LocalCluster (issue 20 §3).

Uses the database of the environment (DATABASE_URL, or the embedded one under PDE_DATA_DIR), which must hold a bank
and a behavioural champion (bench_pipeline.py prepares one). Runs `run_nightly` on the day after the latest data,
alternating the in-process run and `--cluster local:N` (this VM's speed moves within minutes: alternate, never
compare a block of one with a later block of the other), and prints per run: wall seconds, the stages, per shard
the seconds reading, scoring and writing, and the CPU seconds the database server's processes used.

Run: PDE_DATA_DIR=/tmp/pde_big .venv/bin/python bench/bench_cluster.py [--workers 2] [--rounds 2] [--shards 8]
Prints one JSON object per run on stdout.
"""

from __future__ import annotations

import argparse
import json
import os
import time

import psutil


def _server_cpu() -> float:
    """CPU seconds (user + system) used so far by the PostgreSQL servers of this machine: the live processes, and
    through each postmaster's children times the backends that have already exited (a worker's connections)."""
    total = 0.0
    for p in psutil.process_iter(["name", "cpu_times", "ppid"]):
        t = p.info["cpu_times"]
        if not (p.info["name"] or "").startswith("postgres") or t is None:
            continue
        total += t.user + t.system
        try:
            postmaster = not psutil.Process(p.info["ppid"]).name().startswith("postgres")
        except psutil.Error:
            postmaster = False
        if postmaster:
            total += t.children_user + t.children_system
    return total


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--shards", type=int, default=None, help="nightly.shards (default: the settings')")
    args = ap.parse_args()

    from predelinquency.db.engine import get_engine
    from predelinquency.scoring.nightly import run_nightly
    from predelinquency.settings import get_settings

    settings = get_settings()
    if args.shards:
        settings.nightly = settings.nightly.model_copy(update={"shards": args.shards})
    engine = get_engine(settings, role="jobs")
    for round_ in range(args.rounds):
        for cluster in (None, f"local:{args.workers}"):
            cpu0, t0 = _server_cpu(), time.perf_counter()
            r = run_nightly(engine, settings, "bench", cluster=cluster)
            wall = time.perf_counter() - t0
            stages = {s["name"]: s for s in r.stages}
            shards = (stages.get("score_shards_on_cluster") or stages["score_shards"]).get("shards", [])
            print(json.dumps({
                "round": round_, "cluster": cluster or "in-process", "customers": r.rows, "shards": r.shards,
                "wall_s": round(wall, 1), "db_server_cpu_s": round(_server_cpu() - cpu0, 1),
                "stages": {k: v.get("seconds") for k, v in stages.items()},
                "shard_read_s": [s["read"] for s in shards], "shard_score_s": [s["score"] for s in shards],
                "shard_write_s": [s["write"] for s in shards], "shard_total_s": [s.get("total") for s in shards],
                "load_avg": os.getloadavg()}), flush=True)


if __name__ == "__main__":
    main()
