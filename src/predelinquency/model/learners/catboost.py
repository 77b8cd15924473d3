"""CatBoost: symmetric (oblivious) trees, categorical columns as strings for its ordered target statistics."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import pandas as pd

from predelinquency.model.learners.base import BINS, EARLY_STOPPING, SMALL, FitData, Learner
from predelinquency.model.shap.check import ShapTable
from predelinquency.model.shap.oblivious import from_catboost

# what a missing category is called in CatBoost's input
MISSING = "__missing__"


def catboost_frame(data: FitData) -> pd.DataFrame | np.ndarray:
    """CatBoost's input: the encoded matrix with categorical codes decoded to strings (NaN → MISSING).

    A DataFrame for many rows (typed columns, compact); an object array for a few rows, where building
    the DataFrame would cost more than CatBoost's prediction itself.
    """
    enc, Xe = data.encoder, data.X
    small = len(Xe) <= SMALL
    out: pd.DataFrame | np.ndarray = Xe.astype(object) if small else pd.DataFrame(Xe, columns=enc.feature_names_)
    for j, name in zip(enc.categorical_index_, enc.categorical_, strict=True):
        labels = np.array([*enc.categories_[name], MISSING], dtype=object)
        codes = Xe[:, j]
        decoded = labels[np.where(np.isnan(codes), len(labels) - 1, codes).astype(np.int64)]
        if small:
            out[:, j] = decoded  # type: ignore[index]
        else:
            out[name] = decoded  # type: ignore[index]
    return out


def _pool(data: FitData, labelled: bool = False) -> Any:
    from catboost import Pool

    frame = data.derived("catboost", lambda: catboost_frame(data))
    return Pool(frame, data.y if labelled else None, cat_features=data.encoder.categorical_index_)


class CatBoostLearner(Learner):
    """CatBoost with its native categorical handling; explained from our per-leaf tables when all splits are
    on numbers (CatBoost redoes its SHAP precomputation on every call)."""

    name: ClassVar[str] = "catboost"
    trees_param: ClassVar[str] = "iterations"
    defaults: ClassVar[dict[str, Any]] = {"depth": 6, "learning_rate": 0.05, "l2_leaf_reg": 3.0,
                                          "random_strength": 1.0, "rsm": 1.0}
    space: ClassVar[dict[str, Any]] = {
        "depth": ("int", 3, 8),
        "learning_rate": ("log", 0.01, 0.2),
        "l2_leaf_reg": ("log", 0.5, 50.0),
        "random_strength": ("log", 0.1, 10.0),
        "rsm": ("uniform", 0.3, 1.0),  # the share of columns each split considers
    }
    weight: ClassVar[float] = 0.6

    @classmethod
    def library_version(cls) -> str:
        """CatBoost's version."""
        import catboost

        return str(catboost.__version__)

    def _fit(self, params: dict[str, Any], train: FitData, val: FitData | None) -> Any:
        from catboost import CatBoostClassifier

        early = val is not None
        model = CatBoostClassifier(
            **params, scale_pos_weight=self.pos_weight_, random_seed=self.random_state, thread_count=self.n_jobs,
            verbose=False, border_count=BINS, monotone_constraints=self._constraints(),
            allow_writing_files=False,  # otherwise it leaves catboost_info/ in the working directory
            eval_metric="AUC", use_best_model=early,
            **({"od_type": "Iter", "od_wait": EARLY_STOPPING} if early else {}),
        )
        return model.fit(_pool(train, labelled=True), eval_set=_pool(val, labelled=True) if early else None)

    def _n_trees(self) -> int:
        return int(self.model_.tree_count_)

    def margin(self, data: FitData) -> np.ndarray:
        """Log-odds per row."""
        return np.asarray(self.model_.predict(_pool(data), prediction_type="RawFormulaVal",
                                              thread_count=data.threads()), dtype=np.float64)

    def library_contributions(self, data: FitData, approximate: bool = False) -> np.ndarray:
        """CatBoost's ShapValues ("Regular" = exact, "Approximate" = path attribution)."""
        return np.asarray(self.model_.get_feature_importance(
            _pool(data), type="ShapValues", shap_calc_type="Approximate" if approximate else "Regular",
            thread_count=data.threads()), dtype=np.float64)

    def _build_table(self) -> ShapTable | None:
        return from_catboost(self.model_)
