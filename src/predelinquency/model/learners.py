"""The three gradient-boosting learners behind one interface: fit with early stopping, log-odds, SHAP contributions.

Every learner reads the encoded float matrix from encoding.TableEncoder (NaN = missing, handled natively);
CatBoost additionally gets its categorical columns as strings. Outputs are in log-odds (margin) space so the
ensemble can add them up and the contributions stay additive.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

log = logging.getLogger(__name__)

LEARNERS = ("catboost", "xgboost", "lightgbm")
# enough trees for early stopping to find the optimum at the learning rates searched, few enough to stay fast
MAX_TREES = 1000
EARLY_STOPPING = 50
# without a validation set there is no early stopping: a moderate fixed count
DEFAULT_TREES = 300

DEFAULTS: dict[str, dict[str, Any]] = {
    "catboost": {"depth": 6, "learning_rate": 0.05, "l2_leaf_reg": 3.0},
    "xgboost": {"max_depth": 4, "learning_rate": 0.05, "min_child_weight": 1.0, "subsample": 0.8,
                "colsample_bytree": 0.8, "reg_lambda": 1.0},
    "lightgbm": {"num_leaves": 15, "learning_rate": 0.05, "min_child_samples": 20, "subsample": 0.8,
                 "colsample_bytree": 0.8, "reg_lambda": 1.0},
}
# the count of trees under each library's own name
TREES_KEY = {"catboost": "iterations", "xgboost": "n_estimators", "lightgbm": "n_estimators"}


@dataclass
class FitData:
    """One learner's training input: the encoded matrix, labels, CatBoost's frame and the categorical positions."""

    X: np.ndarray
    y: np.ndarray
    cat_index: list[int]
    cb_frame: pd.DataFrame | np.ndarray | None = None


def _catboost(params: dict[str, Any], pos_weight: float, seed: int, n_jobs: int, early: bool) -> Any:
    from catboost import CatBoostClassifier

    return CatBoostClassifier(
        **params, scale_pos_weight=pos_weight, random_seed=seed, thread_count=n_jobs, verbose=False,
        border_count=BINS,
        allow_writing_files=False,  # otherwise it leaves catboost_info/ in the working directory
        eval_metric="AUC", use_best_model=early, **({"od_type": "Iter", "od_wait": EARLY_STOPPING} if early else {}),
    )


def _xgboost(params: dict[str, Any], pos_weight: float, seed: int, n_jobs: int, early: bool) -> Any:
    from xgboost import XGBClassifier

    return XGBClassifier(
        **params, scale_pos_weight=pos_weight, random_state=seed, n_jobs=n_jobs, tree_method="hist", max_bin=BINS,
        eval_metric="auc", early_stopping_rounds=EARLY_STOPPING if early else None,
    )


def _lightgbm(params: dict[str, Any], pos_weight: float, seed: int, n_jobs: int, early: bool) -> Any:
    from lightgbm import LGBMClassifier

    # bagging only happens with subsample_freq > 0
    # metric="auc" alone: early stopping would otherwise also watch the (class-weighted) log-loss
    return LGBMClassifier(**params, scale_pos_weight=pos_weight, random_state=seed, n_jobs=n_jobs,
                          subsample_freq=1, metric="auc", verbose=-1, max_bin=BINS - 1)


# histogram bins per feature: 64 instead of the libraries' ~255 fits 2–3× faster at no measurable AUC cost on
# our snapshots (bench/RESULTS.md); a constant, not a searched parameter
BINS = 64

_BUILD = {"catboost": _catboost, "xgboost": _xgboost, "lightgbm": _lightgbm}


def fit_learner(name: str, params: dict[str, Any], train: FitData, val: FitData | None, *,
                pos_weight: float = 1.0, seed: int = 42, n_jobs: int = 2) -> Any:
    """The fitted learner; with a validation set it stops early at the best validation AUC."""
    early = val is not None
    params = dict(params)
    params.setdefault(TREES_KEY[name], MAX_TREES if early else DEFAULT_TREES)
    model = _BUILD[name](params, pos_weight, seed, n_jobs, early)
    if name == "catboost":
        from catboost import Pool

        pool = Pool(train.cb_frame, train.y, cat_features=train.cat_index)
        eval_set = Pool(val.cb_frame, val.y, cat_features=val.cat_index) if val is not None else None
        model.fit(pool, eval_set=eval_set)
    elif name == "xgboost":
        model.fit(train.X, train.y, eval_set=[(val.X, val.y)] if val is not None else None, verbose=False)
    else:
        import lightgbm

        callbacks = [lightgbm.early_stopping(EARLY_STOPPING, verbose=False)] if val is not None else None
        model.fit(train.X, train.y, eval_X=(val.X,) if val is not None else None,
                  eval_y=(val.y,) if val is not None else None, callbacks=callbacks)
    return model


def n_trees(name: str, model: Any) -> int:
    """How many trees the fitted learner uses (the best iteration after early stopping)."""
    if name == "catboost":
        return int(model.tree_count_)
    if name == "xgboost":
        best = getattr(model, "best_iteration", None)
        return int(best) + 1 if best is not None else int(model.n_estimators)
    best = model.best_iteration_
    return int(best) if best else int(model.n_estimators)


def _catboost_pool(data: FitData) -> Any:
    from catboost import Pool

    return Pool(data.cb_frame, cat_features=data.cat_index)


def xgb_range(model: Any) -> tuple[int, int]:
    """The iteration range up to the early-stopped best tree ((0, 0) = all trees)."""
    best = getattr(model, "best_iteration", None)
    return (0, best + 1) if best is not None else (0, 0)


def lgb_iterations(model: Any) -> int | None:
    """The early-stopped best iteration, or None for all trees."""
    return model.best_iteration_ or None


# The boosters are called directly, not the scikit-learn wrappers: the wrappers' input checks cost more than
# the prediction itself for the one-customer requests of the API. A handful of rows runs on one thread:
# waking a thread pool costs more than the work, and API requests run concurrently anyway.
SMALL = 64


def _threads(data: FitData, n_jobs: int = -1) -> int:
    """1 for a handful of rows, else the library default (-1)."""
    return 1 if len(data.X) <= SMALL else n_jobs


def margin(name: str, model: Any, data: FitData) -> np.ndarray:
    """Log-odds per row."""
    if name == "catboost":
        return np.asarray(model.predict(_catboost_pool(data), prediction_type="RawFormulaVal",
                                        thread_count=_threads(data)), dtype=np.float64)
    if name == "xgboost":
        out = model.get_booster().inplace_predict(data.X, iteration_range=xgb_range(model), predict_type="margin",
                                                  missing=np.nan)
        return np.asarray(out, dtype=np.float64)
    return np.asarray(model.booster_.predict(data.X, raw_score=True, num_iteration=lgb_iterations(model),
                                             num_threads=_threads(data, 0)), dtype=np.float64)


def contributions(name: str, model: Any, data: FitData, approximate: bool = False) -> np.ndarray:
    """(n, p + 1) tree SHAP values in log-odds, the last column the expected value; rows sum to margin.

    approximate: CatBoost's and XGBoost's path attribution (Saabas) instead of exact TreeSHAP — still additive,
    ~4× faster for one customer on CatBoost, but a different (less consistent) split of the same log-odds.
    """
    if name == "catboost":
        return np.asarray(model.get_feature_importance(_catboost_pool(data), type="ShapValues",
                                                       shap_calc_type="Approximate" if approximate else "Regular",
                                                       thread_count=_threads(data)), dtype=np.float64)
    if name == "xgboost":
        from xgboost import DMatrix

        dm = DMatrix(data.X, missing=np.nan, nthread=_threads(data))
        return np.asarray(model.get_booster().predict(dm, pred_contribs=True, approx_contribs=approximate,
                                                      iteration_range=xgb_range(model)), dtype=np.float64)
    return np.asarray(model.booster_.predict(data.X, pred_contrib=True, num_iteration=lgb_iterations(model),
                                             num_threads=_threads(data, 0)), dtype=np.float64)
