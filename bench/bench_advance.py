"""Benchmark `pde advance` on the default demo (issue 15): the 30,000-customer bank by 1 day (≤ 5 s) and by
30 days (≤ 90 s), memory bounded; also one day with the nightly, and a work-plan day.

Uses the database of the environment (DATABASE_URL, or the embedded one under PDE_DATA_DIR); generates the
demo there first when it holds no customers, and trains a champion when it has none (needed for the
nightly steps). Each step moves the bank on, so the steps run on successive days.
  one       1 day, --nightly none, `--repeat` times (successive days)
  thirty    30 days, --nightly none
  nightly   1 day, --nightly last (the simulation and the nightly on the new business date)
  plan      1 day, --nightly every --work-plan (the team works the plan through operations)

Run: PDE_DATA_DIR=/tmp/pde_demo .venv/bin/python bench/bench_advance.py [--steps one,thirty,nightly,plan]
Prints one JSON object per step on stdout, with the machine's speed probe (bench_pipeline._probe_ms).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from sqlalchemy import text

sys.path.insert(0, str(Path(__file__).parent))
from bench_pipeline import _probe_ms


def _print(step: str, payload: dict) -> None:
    payload["peak_rss_mib"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    payload["load_avg"] = os.getloadavg()
    payload["probe_ms"] = _probe_ms()
    print(json.dumps({"step": step, **payload}, default=str), flush=True)


def _commit() -> str:
    return subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                          cwd=Path(__file__).parent).stdout.strip()


def prepare(customers: int, days: int, need_champion: bool) -> tuple[Any, Any]:
    """(engine, settings) of the environment's database, migrated; the demo generated there when it holds no
    customers, and a champion trained when it has none and one is needed."""
    from predelinquency.db.engine import get_engine
    from predelinquency.db.migrate import migrate
    from predelinquency.settings import get_settings

    settings = get_settings()
    engine = get_engine(settings)
    migrate(engine)
    with engine.connect() as c:
        n = c.execute(text("SELECT count(*) FROM customers")).scalar_one()
        champion = c.execute(text("SELECT EXISTS (SELECT 1 FROM model_versions WHERE status = 'champion')")).scalar()
    if n == 0:
        from predelinquency.simulate import generate_bank

        t0 = time.perf_counter()
        generate_bank(engine, settings, customers=customers, days=days, seed=1, actor="bench")
        _print("generate", {"seconds": round(time.perf_counter() - t0, 1), "customers": customers})
    if not champion and need_champion:
        from predelinquency.model.behavioural import train_behavioural

        t0 = time.perf_counter()
        out = train_behavioural(engine, settings, "bench")
        _print("train", {"seconds": round(time.perf_counter() - t0, 1), "oot_auc": out["metrics"].get("oot_auc")})
    return engine, settings


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", default="one,thirty,nightly,plan")
    ap.add_argument("--customers", type=int, default=30_000)
    ap.add_argument("--days", type=int, default=180)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    steps = args.steps.split(",")

    from predelinquency.loop.advance import advance_bank

    engine, settings = prepare(args.customers, args.days, bool({"nightly", "plan"} & set(steps)))

    def run(step: str, days: int, nightly: str, work_plan: bool = False) -> None:
        t0, cpu0 = time.perf_counter(), time.process_time()
        r = advance_bank(engine, settings, days, nightly=nightly, work_plan=work_plan, actor="bench")
        _print(step, {"days": days, "nightly": nightly, "work_plan": work_plan,
                      "seconds": round(time.perf_counter() - t0, 2), "cpu_s": round(time.process_time() - cpu0, 1),
                      "simulate_seconds": r["simulate_seconds"], "nightly_seconds": r["nightly_seconds"],
                      "last_day": r["last_day"], "rows": r["rows"], "contacts": r["contacts"],
                      "potential_outcomes": r["potential_outcomes"], "commit": _commit()})

    if "one" in steps:
        for _ in range(args.repeat):
            run("one", 1, "none")
    if "thirty" in steps:
        run("thirty", 30, "none")
    if "nightly" in steps:
        run("nightly", 1, "last")
    if "plan" in steps:
        run("plan", 1, "every", work_plan=True)


if __name__ == "__main__":
    main()
