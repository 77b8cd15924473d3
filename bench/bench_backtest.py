"""Benchmark `pde backtest policy` (issue 16): D = 60 plan days at K = 150 contacts a day on the 30,000-customer
demo in at most 5 minutes, and the engine's net benefit against top K by PD (>= 1.3x) and the oracle (>= 70 %).

Uses the database of the environment (DATABASE_URL, or the embedded one under PDE_DATA_DIR), prepared as
bench_advance.py prepares it (the demo generated when empty, a champion trained when there is none).
  default   the backtest alone, on the bank as it is (its uplift champion, or the configured rates)
  --full    the issue's target run: advance the bank --advance days with the team working each plan
            (`pde advance --nightly every --work-plan`), train the uplift model on those outcomes
            (`pde train --effects`), then the backtest from the new business date (no peeking: the model
            learned from the days before it). Each --full run moves the bank on.

Run: PDE_DATA_DIR=/tmp/pde_demo .venv/bin/python bench/bench_backtest.py [--full] [--days 60] [--capacity 150]
Prints one JSON object per step on stdout (the backtest's with the whole result), the policy table on stderr.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from bench_advance import _commit, _print, prepare


def _table(r: dict) -> str:
    lines = [f"{'policy':<10} {'contacts':>9} {'prevented':>9} {'per 100':>8} {'net benefit':>13} {'expected':>13}"]
    for name, p in r["policies"].items():
        per100 = "-" if p["prevented_per_100_contacts"] is None else f"{p['prevented_per_100_contacts']:.2f}"
        lines.append(f"{name:<10} {p['contacts']:>9,} {p['prevented_defaults']:>9,} {per100:>8} "
                     f"{p['net_benefit']:>13,.0f} {p['expected_net_benefit']:>13,.0f}")
    for key in ("engine_vs_pd_top_k", "engine_vs_oracle"):
        x = r[key]
        lines.append(f"{key}: realised {x['net_benefit']} · expected {x['expected_net_benefit']}"
                     + (f" ({x['reason']})" if x["reason"] else ""))
    lines.append(f"lead time: {r['lead_time']}")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--days", type=int, default=60, help="backtest plan days")
    ap.add_argument("--capacity", type=int, default=150)
    ap.add_argument("--full", action="store_true", help="advance with the plan worked and train --effects first")
    ap.add_argument("--advance", type=int, default=60, help="--full: business days to advance before")
    ap.add_argument("--uplift", default=None, help="uplift version (default: the champion)")
    ap.add_argument("--customers", type=int, default=30_000)
    ap.add_argument("--history", type=int, default=180, help="days of history when generating")
    args = ap.parse_args()

    from predelinquency.loop.backtest.run import backtest_policy, validate

    validate(args.days, args.capacity)
    engine, settings = prepare(args.customers, args.history, need_champion=True)
    if args.full:
        from predelinquency.loop.advance import advance_bank
        from predelinquency.model.uplift.train import train_effects

        t0 = time.perf_counter()
        r = advance_bank(engine, settings, args.advance, nightly="every", work_plan=True, actor="bench")
        _print("advance", {"days": args.advance, "seconds": round(time.perf_counter() - t0, 1),
                           "worked_by_team": r["worked_by_team"], "last_day": r["last_day"]})
        t0 = time.perf_counter()
        trained = train_effects(engine, settings, "bench")
        _print("train_effects", {"seconds": round(time.perf_counter() - t0, 1), "version": trained["version"],
                                 "status": trained["status"]})
        if args.uplift is None and trained["status"] != "champion":
            args.uplift = trained["version"]  # the model just trained, not an older champion
    t0, cpu0 = time.perf_counter(), time.process_time()
    r = backtest_policy(engine, settings, args.days, args.capacity, args.uplift, actor="bench")
    seconds = round(time.perf_counter() - t0, 1)
    _print("backtest", {"days": args.days, "capacity": args.capacity, "seconds": seconds,
                        "cpu_s": round(time.process_time() - cpu0, 1), "target_seconds": 300,
                        "commit": _commit(), "result": r})
    print(_table(r), file=sys.stderr)


if __name__ == "__main__":
    main()
