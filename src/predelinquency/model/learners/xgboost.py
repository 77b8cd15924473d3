"""XGBoost: depth-wise histogram trees on the encoded matrix (categories as ordinal codes)."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from predelinquency.model.learners.base import BINS, EARLY_STOPPING, FitData, Learner
from predelinquency.model.shap.check import ShapTable
from predelinquency.model.shap.paths import from_xgboost


class XGBoostLearner(Learner):
    """XGBoost; explained from our per-leaf pattern tables (XGBoost's own SHAP needs a DMatrix even for one row)."""

    name: ClassVar[str] = "xgboost"
    trees_param: ClassVar[str] = "n_estimators"
    defaults: ClassVar[dict[str, Any]] = {"max_depth": 4, "learning_rate": 0.05, "min_child_weight": 1.0,
                                          "subsample": 0.8, "colsample_bytree": 0.8, "reg_lambda": 1.0}
    space: ClassVar[dict[str, Any]] = {
        "max_depth": ("int", 2, 8),
        "learning_rate": ("log", 0.01, 0.2),
        "min_child_weight": ("log", 0.5, 50.0),
        "subsample": ("uniform", 0.5, 1.0),
        "colsample_bytree": ("uniform", 0.3, 1.0),
        "reg_lambda": ("log", 0.01, 50.0),
    }
    weight: ClassVar[float] = 0.2

    @classmethod
    def library_version(cls) -> str:
        """XGBoost's version."""
        import xgboost

        return str(xgboost.__version__)

    def _fit(self, params: dict[str, Any], train: FitData, val: FitData | None) -> Any:
        from xgboost import XGBClassifier

        monotone = self._constraints()
        model = XGBClassifier(
            **params, scale_pos_weight=self.pos_weight_, random_state=self.random_state, n_jobs=self.n_jobs,
            tree_method="hist", max_bin=BINS, eval_metric="auc",
            monotone_constraints=f"({','.join(map(str, monotone))})" if monotone else None,
            early_stopping_rounds=EARLY_STOPPING if val is not None else None,
        )
        return model.fit(train.X, train.y, eval_set=[(val.X, val.y)] if val is not None else None, verbose=False)

    def _n_trees(self) -> int:
        best = getattr(self.model_, "best_iteration", None)
        return int(best) + 1 if best is not None else int(self.model_.n_estimators)

    def _range(self) -> tuple[int, int]:
        """The iteration range up to the early-stopped best tree ((0, 0) = all trees)."""
        best = getattr(self.model_, "best_iteration", None)
        return (0, best + 1) if best is not None else (0, 0)

    # the booster is called directly, not the scikit-learn wrapper: the wrapper's input checks cost more than
    # the prediction itself for one customer
    def margin(self, data: FitData) -> np.ndarray:
        """Log-odds per row."""
        out = self.model_.get_booster().inplace_predict(data.X, iteration_range=self._range(),
                                                        predict_type="margin", missing=np.nan)
        return np.asarray(out, dtype=np.float64)

    def library_contributions(self, data: FitData, approximate: bool = False) -> np.ndarray:
        """XGBoost's pred_contribs (approx_contribs: path attribution)."""
        from xgboost import DMatrix

        dm = DMatrix(data.X, missing=np.nan, nthread=data.threads())
        return np.asarray(self.model_.get_booster().predict(dm, pred_contribs=True, approx_contribs=approximate,
                                                            iteration_range=self._range()), dtype=np.float64)

    def _build_table(self) -> ShapTable | None:
        return from_xgboost(self.model_, self._range())
