"""How much of the oracle can ANY uplift model on the product's features reach? (issue 16's "engine >= 70 % of
the oracle" target, measured like bench_ceiling.py measures the PD model's.)

The policy backtest's no-contact world (loop/backtest/world.py) is played D plan days from the bank's business
date; its hook keeps each plan day's feature matrix. A "feature ceiling" model then learns, per action, a
LightGBM regressor of the generator's TRUE uplift (p_none - p_action: its probabilities, no outcome noise) from
the PD champion's feature columns plus the PD, on the units of the first --train-days plan days (every customer
with an instalment due in the outcome window), and plans the later days as the engine would: the best action by
predicted uplift x exposure x LGD - cost, the K highest positive, nobody re-planned within the window
(loop/backtest/policies.plan_policy on a World copy whose engine columns are the ceiling's). Every policy is
compared on the later days only. No model can learn more about the uplift from these features with these
labels, so feature_ceiling / oracle bounds what the engine, learning from noisy outcomes, can reach.

The curve (--sizes) trains the same model on random subsets of the training units: data volume vs features.

Run: PDE_DATA_DIR=/tmp/pde_b16 .venv/bin/python bench/bench_uplift_ceiling.py [--days 60] [--capacity 150]
Reads only (one REPEATABLE READ, READ ONLY snapshot). Prints one JSON object on stdout, progress on stderr.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import fields, replace
from datetime import timedelta
from typing import Any

import lightgbm as lgb
import numpy as np
from sqlalchemy import text

from predelinquency.db.engine import get_engine
from predelinquency.features.registry import FEATURE_NAMES
from predelinquency.loop.backtest.figures import no_contact_misses, policy_figures
from predelinquency.loop.backtest.policies import plan_policy
from predelinquency.loop.backtest.world import World, play_world
from predelinquency.model.registry import load_model
from predelinquency.model.split import validating_entities
from predelinquency.model.uplift.registry import load_uplift
from predelinquency.scoring.compute import model_columns
from predelinquency.scoring.decide import uplift_inputs
from predelinquency.settings import get_settings

COMPARED = ("none", "pd_top_k", "el_top_k", "engine", "oracle")
VALIDATION_SHARE = 0.1      # customers held out of training for early stopping


def _log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


class Collector:
    """Keeps each plan day's PD-model features (float32) and the uplift model's inputs."""

    def __init__(self, pd_cols: np.ndarray, uplift_names: list[str]) -> None:
        self.pd_cols, self.uplift_names = pd_cols, uplift_names
        self.X: list[np.ndarray] = []
        self.U: list[np.ndarray | None] = []

    def __call__(self, t: int, matrix: np.ndarray, ids: np.ndarray) -> None:
        self.X.append(matrix[:, self.pd_cols].astype(np.float32))
        self.U.append(uplift_inputs(dict(zip(FEATURE_NAMES, matrix.T, strict=True)), self.uplift_names))


def later_days(world: World, start: int, **engine: np.ndarray) -> World:
    """The world from plan day `start` on (every (days, ...) array sliced), engine columns optionally replaced."""
    days = world.days
    cut = {f.name: getattr(world, f.name)[start:] for f in fields(world)
           if isinstance(getattr(world, f.name), np.ndarray) and getattr(world, f.name).shape[:1] == (days,)
           and f.name not in ("customer_ids", "costs", "value")}
    return replace(world, first_day=world.first_day + timedelta(days=start), **{**cut, **engine})


PARAMS = {"objective": "regression", "learning_rate": 0.1, "num_leaves": 15, "min_data_in_leaf": 1000,
          "bagging_fraction": 0.7, "bagging_freq": 1, "feature_fraction": 0.7, "lambda_l2": 1.0, "verbose": -1,
          "seed": 0, "num_threads": 2}


def fit_actions(X: np.ndarray, Y: np.ndarray, val: np.ndarray, apply: np.ndarray) -> tuple[np.ndarray, list[int]]:
    """Per action (Y's columns): LightGBM of the true uplift, early-stopped on the validating customers' rows,
    applied to `apply`; (predictions (m, actions), trees per action). The features are binned once."""
    train = lgb.Dataset(X[~val], label=Y[~val, 0], params={"max_bin": 127}, free_raw_data=False).construct()
    check = lgb.Dataset(X[val], label=Y[val, 0], reference=train, free_raw_data=False).construct()
    pred, trees = np.zeros((len(apply), Y.shape[1])), []
    for j in range(Y.shape[1]):
        train.set_label(Y[~val, j])
        check.set_label(Y[val, j])
        booster = lgb.train(PARAMS, train, num_boost_round=1500, valid_sets=[check],
                            callbacks=[lgb.early_stopping(50, verbose=False)])
        pred[:, j] = booster.predict(apply, num_iteration=booster.best_iteration)
        trees.append(booster.best_iteration)
    return pred, trees


def corr(a: np.ndarray, b: np.ndarray) -> float | None:
    return round(float(np.corrcoef(a, b)[0, 1]), 4) if len(a) > 2 and a.std() > 0 and b.std() > 0 else None


def summary(f: dict[str, Any], oracle: dict[str, Any]) -> dict[str, Any]:
    keep = ("contacts", "prevented_defaults", "expected_prevented_defaults", "net_benefit", "expected_net_benefit",
            "prevented_per_100_contacts", "actions")
    out = {k: f[k] for k in keep}
    for key in ("net_benefit", "expected_net_benefit"):
        out[f"{key}_vs_oracle"] = round(f[key] / oracle[key], 4) if oracle[key] > 0 else None
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--days", type=int, default=60)
    ap.add_argument("--capacity", type=int, default=150)
    ap.add_argument("--train-days", type=int, default=30, help="plan days the ceiling learns from; later ones test")
    ap.add_argument("--sizes", default="5000,20000", help="training-unit subsets for the curve ('' for none)")
    args = ap.parse_args()
    t_start = time.perf_counter()
    settings = get_settings()
    engine = get_engine(settings)
    with engine.connect() as conn:
        conn.execute(text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY"))
        pd_model, uplift = load_model(settings, conn), load_uplift(settings, conn)
        collect = Collector(model_columns(pd_model), uplift.feature_names)
        world = play_world(conn, settings, args.days, pd_model, uplift,
                           progress=lambda share, msg: _log(msg) if round(share * 100) % 10 == 0 else None,
                           on_features=collect)
        conn.rollback()
    t_world = time.perf_counter() - t_start
    _log(f"world played in {t_world:.0f} s")

    s, n, actions = args.train_days, len(world.customer_ids), world.actions
    X = np.stack(collect.X)                                          # (days, n, features)
    X = np.concatenate([X, world.pd[:, :, None].astype(np.float32)], axis=2)
    truth = world.p_none[:, :, None] - world.p_action                # (days, n, actions)
    model_order = [uplift.actions.index(a) for a in actions]
    engine_uplift = np.stack([uplift.uplift(world.pd[t], collect.U[t])[:, model_order] for t in range(args.days)])

    train_t, train_c = np.nonzero(world.has_unit[:s])
    test_t, test_c = np.nonzero(world.has_unit[s:])
    test_t = test_t + s
    Xtr = X[train_t, train_c]
    val = validating_entities(world.customer_ids[train_c], VALIDATION_SHARE)
    rng = np.random.default_rng(0)
    fit_rows = np.flatnonzero(~val)
    sizes = [int(x) for x in args.sizes.split(",") if x.strip()]
    variants: dict[str, np.ndarray] = {}
    trees: dict[str, dict[str, int]] = {}
    for size in [*sizes, None]:
        name = "all" if size is None else str(size)
        rows = fit_rows if size is None or size >= len(fit_rows) else np.sort(rng.choice(fit_rows, size, False))
        rows = np.concatenate([rows, np.flatnonzero(val)])
        t0 = time.perf_counter()
        pred, used = fit_actions(Xtr[rows], truth[train_t, train_c][rows], val[rows], X[s:].reshape(-1, X.shape[2]))
        pred = pred.reshape(args.days - s, n, len(actions))
        trees[name] = dict(zip(actions, used, strict=True))
        _log(f"ceiling {name}: {trees[name]} trees in {time.perf_counter() - t0:.0f} s")
        variants[name] = pred

    later = later_days(world, s)
    baseline = no_contact_misses(later)
    figures = {p: policy_figures(later, plan_policy(p, later, args.capacity), baseline) for p in COMPARED}
    oracle = figures["oracle"]
    policies = {p: summary(f, oracle) for p, f in figures.items()}
    correlation: dict[str, Any] = {"engine": {a: corr(engine_uplift[test_t, test_c, j], truth[test_t, test_c, j])
                                              for j, a in enumerate(actions)}}
    curve = {}
    for name in [*map(str, sizes), "all"]:
        pred = variants[name]
        benefit = pred * world.value[None, :, None] - world.costs[None, None, :]
        choice = benefit.argmax(axis=2)
        ceiling = later_days(world, s, engine_action=choice.astype(np.int8),
                             engine_benefit=np.take_along_axis(benefit, choice[:, :, None], 2)[:, :, 0])
        f = summary(policy_figures(ceiling, plan_policy("engine", ceiling, args.capacity), baseline), oracle)
        c = {a: corr(pred[test_t - s, test_c, j], truth[test_t, test_c, j]) for j, a in enumerate(actions)}
        curve[name] = {"training_units": len(fit_rows) if name == "all" else min(int(name), len(fit_rows)),
                       "trees": trees[name], "correlation": c, **f}
        if name == "all":
            policies["feature_ceiling"], correlation["feature_ceiling"] = f, c
    out = {
        "days": args.days, "capacity": args.capacity, "train_days": s, "compared_days": args.days - s,
        "customers": n, "first_day": world.first_day.isoformat(), "model_version": pd_model.version,
        "uplift_version": uplift.version, "features": X.shape[2],
        "units": {"train": len(train_t), "validation": int(val.sum()), "test": len(test_t),
                  "share_of_customer_days_with_unit": round(float(world.has_unit.mean()), 4)},
        "no_contact": {"missed": baseline[0], "expected_missed": round(baseline[1], 2)},
        "policies": policies,
        "engine_vs_oracle": policies["engine"]["net_benefit_vs_oracle"],
        "engine_vs_oracle_expected": policies["engine"]["expected_net_benefit_vs_oracle"],
        "feature_ceiling_vs_oracle": policies["feature_ceiling"]["net_benefit_vs_oracle"],
        "feature_ceiling_vs_oracle_expected": policies["feature_ceiling"]["expected_net_benefit_vs_oracle"],
        "correlation_with_true_uplift_on_test_units": correlation,
        "curve": curve,
        "seconds": {"world": round(t_world, 1), "total": round(time.perf_counter() - t_start, 1)},
    }
    print(json.dumps(out))


if __name__ == "__main__":
    main()
