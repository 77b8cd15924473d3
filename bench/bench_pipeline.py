"""Benchmark training and nightly scoring on the default demo (issues 3 and 4).

Uses the database of the environment (DATABASE_URL, or the embedded one under PDE_DATA_DIR); generates the
demo there first when it holds no customers. Then, each step optional:
  train    `train_behavioural` with the configured search: wall seconds per stage, OOT AUC against the ceiling
  nightly  `run_nightly` on the day after the latest data, twice (cold and warm): seconds per stage, rows/s
  single   `score_customer` with the model loaded: p50/p95/p99 over N random customers, served from the stored
           nightly row, after a write elsewhere (the stored row is stale, so it is computed), and computed
           without looking for a stored row;
           --single-runs K repeats it K times, --single-gap S seconds apart, and adds the figures of all runs
           pooled: this VM's speed swings within minutes, so one run's p50 says when it ran as much as what
           the code costs. Each run also times a fixed numpy workload (`probe_ms`) to show that speed.

Run: PDE_DATA_DIR=/tmp/pde_demo .venv/bin/python bench/bench_pipeline.py [--steps train,nightly,single]
Prints one JSON object per step on stdout.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import time

import numpy as np
from sqlalchemy import text


def _print(step: str, payload: dict) -> None:
    payload["peak_rss_mib"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    payload["load_avg"] = os.getloadavg()
    print(json.dumps({"step": step, **payload}, default=str), flush=True)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", default="train,nightly,single")
    ap.add_argument("--customers", type=int, default=30_000)
    ap.add_argument("--days", type=int, default=180)
    ap.add_argument("--single-n", type=int, default=300)
    ap.add_argument("--single-runs", type=int, default=1)
    ap.add_argument("--single-gap", type=float, default=0.0)
    args = ap.parse_args()
    steps = args.steps.split(",")

    from predelinquency.db.engine import get_engine
    from predelinquency.db.migrate import migrate
    from predelinquency.settings import get_settings

    settings = get_settings()
    engine = get_engine(settings)
    migrate(engine)
    with engine.connect() as c:
        n = c.execute(text("SELECT count(*) FROM customers")).scalar_one()
    if n == 0:
        from predelinquency.simulate import generate_bank

        t0 = time.perf_counter()
        generate_bank(engine, settings, customers=args.customers, days=args.days, seed=1, actor="bench")
        _print("generate", {"seconds": round(time.perf_counter() - t0, 1), "customers": args.customers})

    if "train" in steps:
        from predelinquency.model.behavioural import train_behavioural

        t0, cpu0 = time.perf_counter(), time.process_time()
        out = train_behavioural(engine, settings, "bench")
        wall = time.perf_counter() - t0
        with engine.connect() as c:
            stages = c.execute(text("SELECT stages FROM batch_runs WHERE run_id = :r"),
                               {"r": out["run_id"]}).scalar_one()
        m = out["metrics"]
        keep = ("oot_auc", "ceiling_auc", "auc_share_of_ceiling", "validation_auc", "cv_auc_mean", "oot_pr_auc",
                "brier", "ece", "test_rows", "test_defaults", "per_learner_auc", "precision_top5", "recall_top5")
        _print("train", {"seconds": round(wall, 1), "cpu_s": round(time.process_time() - cpu0, 1),
                         "version": out["version"], "status": out["status"],
                         "metrics": {k: m.get(k) for k in keep}, "stages": stages})

    if "nightly" in steps:
        from predelinquency.scoring.nightly import run_nightly

        for label in ("cold", "warm"):
            t0 = time.perf_counter()
            r = run_nightly(engine, settings, "bench")
            wall = time.perf_counter() - t0
            _print(f"nightly_{label}", {"seconds": round(wall, 2), "rows": r.rows, "shards": r.shards,
                                        "rows_per_s": round(r.rows / wall), "tiers": r.tiers,
                                        "psi_score": r.psi.get("score"), "stages": r.stages})

    if "single" in steps:
        from predelinquency.model.registry import load_model

        with engine.connect() as c:
            model = load_model(settings, c)
            pooled: dict[str, list[float]] = {}
            for run in range(args.single_runs):
                if run:
                    time.sleep(args.single_gap)
                figures = _single_run(c, settings, model, args.single_n, pooled)
                _print("single", {"run": run + 1, "n": args.single_n, "probe_ms": _probe_ms(), **figures})
            if args.single_runs > 1:
                _print("single_pooled", {"runs": args.single_runs, "gap_s": args.single_gap,
                                         **{label: _percentiles(t) for label, t in pooled.items()}})


def _percentiles(times: list[float]) -> dict[str, float]:
    q = np.percentile(times, [50, 95, 99])
    return {"p50_ms": round(q[0], 2), "p95_ms": round(q[1], 2), "p99_ms": round(q[2], 2)}


def _probe_ms() -> float:
    """Median time of a fixed workload of small numpy calls, the kind the single-customer path makes."""
    x = np.arange(90, dtype=np.float32).reshape(1, 90)
    times = []
    for _ in range(30):
        t0 = time.perf_counter()
        for _ in range(1000):
            x[:, -30:].sum(axis=1, dtype=np.float64)
        times.append((time.perf_counter() - t0) * 1000)
    return round(float(np.median(times)), 3)


def _single_run(c, settings, model, n: int, pooled: dict[str, list[float]]) -> dict:
    """One round of the three single-customer paths over n random customers; appends the times to pooled."""
    from predelinquency.scoring.single import score_customer

    ids = c.execute(text("SELECT customer_id FROM customers ORDER BY random() LIMIT :n"), {"n": n}).scalars().all()
    figures = {}
    # stored: the nightly row, served while nothing it was computed from changed (scoring/stored.py);
    # after_write: a write elsewhere moved the count on, so the stored row is stale and the score computed;
    # computed: features, ensemble and TreeSHAP reasons from the database now, no stored row looked for
    for label, reuse in (("stored", True), ("after_write", True), ("computed", False)):
        if label == "after_write":  # in this connection's transaction only: rolled back below
            c.execute(text("UPDATE data_versions SET version = version + 1 WHERE table_name = 'payments'"))
        for cid in ids[:10]:  # warm-up: caches, lazy imports
            score_customer(c, settings, cid, model=model, reuse_stored=reuse)
        times, sources = [], set()
        for cid in ids:
            t0 = time.perf_counter()
            sources.add(score_customer(c, settings, cid, model=model, reuse_stored=reuse)["source"])
            times.append((time.perf_counter() - t0) * 1000)
        pooled.setdefault(label, []).extend(times)
        figures[label] = {"sources": sorted(sources), **_percentiles(times)}
    c.rollback()
    return figures


if __name__ == "__main__":
    main()
