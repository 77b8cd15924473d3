"""LightGBM: leaf-wise histogram trees on the encoded matrix (categories as ordinal codes)."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from predelinquency.model.learners.base import BINS, EARLY_STOPPING, FitData, Learner


class LightGBMLearner(Learner):
    """LightGBM; explained by its own TreeSHAP, which needs no per-call set-up and is as fast as a table for one
    row (measured in bench/RESULTS.md), so it has no table of ours."""

    name: ClassVar[str] = "lightgbm"
    trees_param: ClassVar[str] = "n_estimators"
    defaults: ClassVar[dict[str, Any]] = {"num_leaves": 15, "learning_rate": 0.05, "min_child_samples": 20,
                                          "subsample": 0.8, "colsample_bytree": 0.8, "reg_lambda": 1.0}
    space: ClassVar[dict[str, Any]] = {
        "num_leaves": ("int_log", 4, 128),
        "learning_rate": ("log", 0.01, 0.2),
        "min_child_samples": ("int_log", 5, 200),
        "subsample": ("uniform", 0.5, 1.0),
        "colsample_bytree": ("uniform", 0.3, 1.0),
        "reg_lambda": ("log", 0.01, 50.0),
    }
    weight: ClassVar[float] = 0.2

    @classmethod
    def library_version(cls) -> str:
        """LightGBM's version."""
        import lightgbm

        return str(lightgbm.__version__)

    def _fit(self, params: dict[str, Any], train: FitData, val: FitData | None) -> Any:
        import lightgbm

        # bagging only happens with subsample_freq > 0
        # metric="auc" alone: early stopping would otherwise also watch the (class-weighted) log-loss
        # row-wise histograms fixed: left to itself LightGBM times both layouts and keeps the faster, so the
        # layout (and the order of its floating-point sums) would depend on the machine's load; with it,
        # deterministic makes the same data and seed give the same trees
        model = lightgbm.LGBMClassifier(**params, scale_pos_weight=self.pos_weight_, random_state=self.random_state,
                                        n_jobs=self.n_jobs, subsample_freq=1, metric="auc", verbose=-1,
                                        max_bin=BINS - 1, monotone_constraints=self._constraints(),
                                        force_row_wise=True, deterministic=True)
        early = val is not None
        return model.fit(train.X, train.y, eval_X=(val.X,) if early else None, eval_y=(val.y,) if early else None,
                         callbacks=[lightgbm.early_stopping(EARLY_STOPPING, verbose=False)] if early else None)

    def _n_trees(self) -> int:
        best = self.model_.best_iteration_
        return int(best) if best else int(self.model_.n_estimators)

    def _iterations(self) -> int | None:
        """The early-stopped best iteration, or None for all trees."""
        return self.model_.best_iteration_ or None

    # the booster is called directly, not the scikit-learn wrapper: the wrapper's input checks cost more than
    # the prediction itself for one customer
    def margin(self, data: FitData) -> np.ndarray:
        """Log-odds per row."""
        return np.asarray(self.model_.booster_.predict(data.X, raw_score=True, num_iteration=self._iterations(),
                                                       num_threads=data.threads(0)), dtype=np.float64)

    def library_contributions(self, data: FitData, approximate: bool = False) -> np.ndarray:
        """LightGBM's pred_contrib (exact TreeSHAP; it has no approximate mode)."""
        return np.asarray(self.model_.booster_.predict(data.X, pred_contrib=True, num_iteration=self._iterations(),
                                                       num_threads=data.threads(0)), dtype=np.float64)

    def gain(self) -> np.ndarray:
        """Total split gain per feature over the trees used."""
        return self.model_.booster_.feature_importance("gain", iteration=self._iterations())
