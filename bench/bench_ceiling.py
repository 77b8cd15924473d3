"""How close can a learned model get to the generator's ceiling, even knowing everything the generator knows?

Issue 3's target compares the model's out-of-time ROC-AUC with the AUC of the generator's own true_pd. true_pd
is computed from the latent state — the AR(1) stress level, the shock episode (phase, age, severity, ramp) and
each customer's base risk, which includes a habit factor and noise no data shows — by an exact formula. A
model only sees the behaviour that state leaves in transactions, and must learn the formula from a finite
number of labelled snapshots.

This script simulates the default demo bank in memory (the same customers as `pde generate` with the same
seed), lays out labelled snapshots exactly as `pde train` does (every snapshot_every_days, the newest
oot_snapshots held out after the gap, a share of the customers for early stopping), and trains LightGBM on
the latent state itself, information no real model has. Its out-of-time AUC, as a share of the ceiling on the
same rows, is what "the best possible" looks like for a learned model on this data.

Run: .venv/bin/python bench/bench_ceiling.py [--customers 30000] [--seed 1]
No database.
"""

from __future__ import annotations

import argparse

import lightgbm as lgb
import numpy as np
from sklearn.metrics import roc_auc_score

from predelinquency.model.dataset import oot_gap, snapshot_dates
from predelinquency.model.split import validating_entities
from predelinquency.settings import Settings
from predelinquency.simulate.chunk import Chunk, calibrate, simulate_chunk
from predelinquency.simulate.customers import EMPLOYMENT
from predelinquency.simulate.generate import chunk_plan
from predelinquency.simulate.payments import MISSED, WINDOW
from predelinquency.simulate.timeline import DEFAULT_END, Timeline

LATENT = ("x", "shock", "phase", "age", "severity", "ramp")


def _windows(ch: Chunk, days: int) -> tuple[np.ndarray, np.ndarray]:
    """(n, days) masks: an instalment falls due in (d, d + 30], and one of them is missed."""
    n = ch.customers.n
    s, st = ch.schedule, ch.settlement
    inside = s.due < days

    def in_window(mask: np.ndarray) -> np.ndarray:
        counts = np.bincount(s.cust[mask].astype(np.int64) * days + s.due[mask], minlength=n * days)
        cum = np.concatenate([np.zeros((n, 1)), np.cumsum(counts.reshape(n, days), axis=1)], axis=1)
        out = np.zeros((n, days), bool)
        out[:, : days - WINDOW] = (cum[:, WINDOW + 1:] - cum[:, 1:days - WINDOW + 1]) > 0
        return out

    return in_window(inside), in_window(inside & (st.status == MISSED))


def _rows(ch: Chunk, tl: Timeline, day_idx: list[int]) -> dict[str, np.ndarray]:
    """One row per (customer with an instalment due in the window, snapshot day): state, attributes, label."""
    c, p = ch.customers, ch.paths
    at_risk, missed = _windows(ch, tl.days)
    cols: dict[str, list[np.ndarray]] = {}
    for d in day_idx:
        keep = np.flatnonzero(at_risk[:, d])
        values = {name: getattr(p, name)[keep, d].astype(np.float64) for name in LATENT}
        values |= {
            "base_risk": c.base_risk[keep], "has_card": c.has_card[keep], "has_loan": c.has_loan[keep],
            "card_due_day": c.card_due_day[keep], "loan_due_day": c.loan_due_day[keep],
            "day_of_month": np.full(len(keep), tl.dom[d]),
            "age_years": c.age[keep], "tenure_months": c.tenure_months[keep], "income": c.income[keep],
            "instalments": c.card_instalment[keep] + c.loan_instalment[keep],
            **{f"employment_{e}": (c.employment[keep] == i) for i, e in enumerate(EMPLOYMENT)},
            "snapshot": np.full(len(keep), d), "customer_id": c.customer_id[keep],
            "label": missed[keep, d], "true_pd": ch.true_pd[keep, d],
        }
        for k, v in values.items():
            cols.setdefault(k, []).append(np.asarray(v, np.float64))
    return {k: np.concatenate(v) for k, v in cols.items()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--customers", type=int, default=30_000)
    ap.add_argument("--days", type=int, default=180)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    settings = Settings()
    sim, t = settings.simulation, settings.training
    tl = Timeline(DEFAULT_END, args.days)
    dates = snapshot_dates(tl.start, tl.end, settings)
    day_idx = [(d - tl.start).days for d in dates]
    intercept = calibrate(args.seed, tl, sim)
    parts = []
    for index, (first_id, n) in enumerate(chunk_plan(args.customers, sim.chunk_customers)):
        parts.append(_rows(simulate_chunk(args.seed, index, first_id, n, tl, intercept, sim), tl, day_idx))
    data = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}

    snap = data["snapshot"]
    test = snap >= day_idx[-t.oot_snapshots]
    develop = snap <= day_idx[-t.oot_snapshots - oot_gap(settings) - 1]
    validation = develop & validating_entities(data["customer_id"], t.validation_share)
    train = develop & ~validation
    y = data["label"].astype(int)
    ceiling = roc_auc_score(y[test], data["true_pd"][test])
    print(f"{args.customers:,} customers x {args.days} days, seed {args.seed}: {len(dates)} snapshots; rows "
          f"train {train.sum():,} · validation {validation.sum():,} · out-of-time {test.sum():,} "
          f"(miss rate {y[test].mean():.2%})")
    print(f"ceiling: AUC of the generator's true_pd on the out-of-time rows  {ceiling:.4f}")

    schedule = ["has_card", "has_loan", "card_due_day", "loan_due_day", "day_of_month"]
    observable = ["age_years", "tenure_months", "income", "instalments", *[f"employment_{e}" for e in EMPLOYMENT]]
    for label, columns in (
            ("latent state + base risk + due dates (everything true_pd is computed from)",
             [*LATENT, "base_risk", *schedule]),
            ("latent state + the customer's recorded attributes instead of the hidden base risk",
             [*LATENT, *observable, *schedule]),
            ("recorded attributes and due dates only (no stress state)", [*observable, *schedule])):
        X = np.column_stack([data[c] for c in columns])
        model = lgb.LGBMClassifier(n_estimators=2000, learning_rate=0.03, num_leaves=31, min_child_samples=100,
                                   subsample=0.8, subsample_freq=1, reg_lambda=1.0, verbose=-1, random_state=0)
        model.fit(X[train], y[train], eval_X=(X[validation],), eval_y=(y[validation],), eval_metric="auc",
                  callbacks=[lgb.early_stopping(100, verbose=False)])
        auc = roc_auc_score(y[test], model.predict_proba(X[test])[:, 1])
        print(f"LightGBM on {label}: out-of-time AUC {auc:.4f} = {auc / ceiling:.1%} of the ceiling "
              f"({model.best_iteration_} trees)")


if __name__ == "__main__":
    main()
