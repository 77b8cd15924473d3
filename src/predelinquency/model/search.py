"""Short seeded random hyperparameter search per learner, scored by AUC on the validation window."""

from __future__ import annotations

import logging
import math
from typing import Any

import numpy as np
from sklearn.metrics import roc_auc_score

from predelinquency.model.learners import FitData, Learner

log = logging.getLogger(__name__)


def sample_params(space: dict[str, Any], rng: np.random.Generator) -> dict[str, Any]:
    """One random draw from a learner's search space (see Learner.space)."""
    out: dict[str, Any] = {}
    for key, spec in space.items():
        if isinstance(spec, list):
            out[key] = spec[int(rng.integers(len(spec)))]
        elif spec[0] == "log":
            out[key] = float(math.exp(rng.uniform(math.log(spec[1]), math.log(spec[2]))))
        else:
            out[key] = float(rng.uniform(spec[1], spec[2]))
    return out


def _auc(y: np.ndarray, score: np.ndarray) -> float:
    """ROC-AUC, or 0.5 when only one class is present."""
    return float(roc_auc_score(y, score)) if len(np.unique(y)) == 2 else 0.5


def search(learner: type[Learner], train: FitData, val: FitData, n_iter: int, *, random_state: int,
           pos_weight: float, n_jobs: int) -> tuple[dict[str, Any], Learner, list[dict[str, Any]]]:
    """The best parameters by validation AUC, that fitted learner, and every trial; trial 1 is the defaults."""
    rng = np.random.default_rng(random_state)
    candidates = [dict(learner.defaults)] + [sample_params(learner.space, rng) for _ in range(max(n_iter - 1, 0))]
    trials: list[dict[str, Any]] = []
    best, best_auc = None, -1.0
    for i, params in enumerate(candidates):
        # the same seed for every trial: trials differ only by their parameters
        fitted = learner(params, pos_weight=pos_weight, random_state=random_state, n_jobs=n_jobs).fit(train, val)
        auc = _auc(val.y, fitted.margin(val))
        trials.append({"params": params, "val_auc": round(auc, 5), "trees": fitted.n_trees_})
        log.info("%s trial %d/%d: validation AUC %.4f", learner.name, i + 1, len(candidates), auc)
        if auc > best_auc:
            best, best_auc = fitted, auc
    assert best is not None  # the defaults are always a candidate
    return dict(max(trials, key=lambda t: t["val_auc"])["params"]), best, trials
