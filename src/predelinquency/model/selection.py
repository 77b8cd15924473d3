"""Feature pre-selection before the ensemble: the columns a quick LightGBM finds most useful on the training rows.

Fit time of every learner, every search trial and every CV refit grows with the number of columns; on the
behavioural snapshots most of the 175 features add nothing once the strongest are in. One early-stopped
LightGBM on the training rows (validation for stopping only; the test is never touched) ranks them by total
split gain, and the top `max_features` go on, with any column the caller must keep (a monotone constraint's).
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

import numpy as np
import pandas as pd

from predelinquency.model.encoding import TableEncoder
from predelinquency.model.learners import FitData, LightGBMLearner


def select_features(X_train: pd.DataFrame, y_train: np.ndarray, X_val: pd.DataFrame, y_val: np.ndarray,
                    max_features: int, seed: int = 42, n_jobs: int = 2,
                    keep: Collection[str] = ()) -> tuple[list[str], dict[str, Any]]:
    """(the kept column names in their original order, a summary for the model's params)."""
    columns = list(X_train.columns)
    if max_features <= 0 or len(columns) <= max_features:
        return columns, {"method": "none", "from": len(columns), "kept": len(columns)}
    enc = TableEncoder().fit(X_train)
    tr = FitData(enc.transform(X_train), y_train, enc)
    va = FitData(enc.transform(X_val), y_val, enc)
    pos_weight = float((y_train == 0).sum() / max((y_train == 1).sum(), 1))
    model = LightGBMLearner(pos_weight=pos_weight, random_state=seed, n_jobs=n_jobs).fit(tr, va)
    gain = model.gain()
    # ties (e.g. never-used columns at 0) keep the original order: a stable sort on the negated gain
    order = np.argsort(-gain, kind="stable")[:max_features]
    kept_encoded = {enc.feature_names_[i] for i in order} | set(keep)
    kept = [c for c in columns if c in kept_encoded]
    dropped_unused = int((gain == 0).sum())
    return kept, {"method": "lightgbm gain", "from": len(columns), "kept": len(kept),
                  "unused_columns": dropped_unused, "trees": model.n_trees_}
