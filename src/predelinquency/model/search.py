"""Short seeded random hyperparameter search per learner, scored by AUC on the validation window."""

from __future__ import annotations

import logging
import math
from typing import Any

import numpy as np
from sklearn.metrics import roc_auc_score

from predelinquency.model.learners import DEFAULTS, FitData, fit_learner, margin, n_trees

log = logging.getLogger(__name__)

# ("log", lo, hi) = log-uniform, ("uniform", lo, hi) = uniform, a list = choice
SPACES: dict[str, dict[str, Any]] = {
    "catboost": {
        "depth": [4, 5, 6, 7, 8],
        "learning_rate": ("log", 0.02, 0.15),
        "l2_leaf_reg": ("log", 1.0, 30.0),
        "random_strength": [0.5, 1.0, 2.0],
    },
    "xgboost": {
        "max_depth": [2, 3, 4, 5, 6],
        "learning_rate": ("log", 0.02, 0.15),
        "min_child_weight": ("log", 1.0, 20.0),
        "subsample": ("uniform", 0.6, 1.0),
        "colsample_bytree": ("uniform", 0.5, 1.0),
        "reg_lambda": ("log", 0.5, 20.0),
    },
    "lightgbm": {
        "num_leaves": [4, 8, 15, 31, 63],
        "learning_rate": ("log", 0.02, 0.15),
        "min_child_samples": [10, 20, 40, 80],
        "subsample": ("uniform", 0.6, 1.0),
        "colsample_bytree": ("uniform", 0.5, 1.0),
        "reg_lambda": ("log", 0.5, 20.0),
    },
}


def sample_params(name: str, rng: np.random.Generator) -> dict[str, Any]:
    """One random draw from the learner's search space."""
    out: dict[str, Any] = {}
    for key, spec in SPACES[name].items():
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


def search(name: str, train: FitData, val: FitData, n_iter: int, *, seed: int, pos_weight: float,
           n_jobs: int) -> tuple[dict[str, Any], Any, list[dict[str, Any]]]:
    """The best parameters by validation AUC, that fitted learner, and every trial; trial 1 is the defaults."""
    rng = np.random.default_rng(seed)
    candidates = [dict(DEFAULTS[name])] + [sample_params(name, rng) for _ in range(max(n_iter - 1, 0))]
    trials: list[dict[str, Any]] = []
    best_model, best_auc = None, -1.0
    for i, params in enumerate(candidates):
        # the same seed for every trial: trials differ only by their parameters
        model = fit_learner(name, params, train, val, pos_weight=pos_weight, seed=seed, n_jobs=n_jobs)
        auc = _auc(val.y, margin(name, model, val))
        trials.append({"params": params, "val_auc": round(auc, 5), "trees": n_trees(name, model)})
        log.info("%s trial %d/%d: validation AUC %.4f", name, i + 1, len(candidates), auc)
        if auc > best_auc:
            best_model, best_auc = model, auc
    best = max(trials, key=lambda t: t["val_auc"])
    return dict(best["params"]), best_model, trials
