"""Small labelled tables with a known signal, missing values and a categorical column, for model tests."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd


def make_table(n: int = 3000, seed: int = 0, weeks: int = 10) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """(features, 0/1 labels ~15% ones, weekly as_of dates) where `a`, `b` and `product` carry the risk."""
    rng = np.random.default_rng(seed)
    X = pd.DataFrame({
        "a": rng.normal(size=n),
        "b": rng.normal(size=n),
        "noise": rng.normal(size=n),
        "product": rng.choice(["card", "loan", "mortgage"], size=n),
        "flag": rng.random(n) < 0.3,
    })
    X.loc[rng.random(n) < 0.15, "a"] = np.nan  # missing salary-like feature: risky when absent
    logit = -2.6 + 1.4 * X["a"].fillna(1.0) + 0.6 * X["b"] + 0.9 * (X["product"] == "card")
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(np.int64)
    start = dt.date(2026, 1, 5)
    groups = np.array([start + dt.timedelta(weeks=int(w)) for w in rng.integers(0, weeks, size=n)])
    return X, y.to_numpy(), groups
