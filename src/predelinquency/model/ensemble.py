"""RiskEnsemble: CatBoost + XGBoost + LightGBM, combined as a weighted sum of log-odds.

Why log-odds and not probabilities: each learner's native SHAP values are additive in log-odds, so the weighted
sum of margins is explained exactly by the weighted sum of contributions — reason codes add up to the score the
officer sees. Averaging probabilities would break that additivity. The combination is calibrated afterwards
(calibration.py), so the scale of the summed margins does not matter for the PD; calibration is monotone, so a
feature that raises the log-odds raises the PD. The learners themselves are in learners/, one class each.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy.optimize import minimize
from scipy.special import expit
from sklearn.base import BaseEstimator, ClassifierMixin

from predelinquency.errors import PdeError
from predelinquency.model.encoding import Table, TableEncoder, to_pandas
from predelinquency.model.learners import LEARNERS, FitData, Learner
from predelinquency.model.resample import smote
from predelinquency.model.search import search

log = logging.getLogger(__name__)

DEFAULT_WEIGHTS = {name: learner.weight for name, learner in LEARNERS.items()}
# the search runs on at most this many training rows (stratified sample); the final fit uses them all
SEARCH_MAX_ROWS = 200_000


def _stratified_sample(y: np.ndarray, n: int, seed: int) -> np.ndarray:
    """Row positions of a class-stratified sample of about n rows (all rows when there are fewer)."""
    if len(y) <= n:
        return np.arange(len(y))
    rng = np.random.default_rng(seed)
    parts = [rng.choice(np.flatnonzero(y == c), size=max(1, round(n * np.mean(y == c))), replace=False)
             for c in (0, 1)]
    return np.sort(np.concatenate(parts))


def fit_weights(margins: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Non-negative learner weights summing to 1 that minimise the log-loss of sigmoid(margins @ w + b)."""
    k = margins.shape[1]

    def loss(theta: np.ndarray) -> tuple[float, np.ndarray]:
        z = margins @ theta[:k] + theta[k]
        p = expit(z)
        eps = 1e-12
        value = -np.mean(y * np.log(p + eps) + (1 - y) * np.log(1 - p + eps))
        g = (p - y) / len(y)
        return float(value), np.append(margins.T @ g, g.sum())

    start = np.append(np.full(k, 1.0 / k), 0.0)
    res = minimize(loss, start, jac=True, method="L-BFGS-B", bounds=[(0, None)] * k + [(None, None)])
    w = np.maximum(res.x[:k], 0)
    return w / w.sum() if w.sum() > 0 else np.full(k, 1.0 / k)


class RiskEnsemble(ClassifierMixin, BaseEstimator):
    """Weighted log-odds ensemble of gradient-boosted trees, following scikit-learn's estimator contract."""

    def __init__(self, weights: dict[str, float] | None = None, imbalance: str = "class_weights",
                 params: dict[str, dict[str, Any]] | None = None, search_iterations: int = 0,
                 fit_weights: bool = False, random_state: int = 42, n_jobs: int = 2) -> None:
        self.weights = weights
        self.imbalance = imbalance
        self.params = params
        self.search_iterations = search_iterations
        self.fit_weights = fit_weights
        self.random_state = random_state
        self.n_jobs = n_jobs

    def _data(self, Xe: np.ndarray, y: np.ndarray | None = None) -> FitData:
        """The learners' input for an encoded matrix."""
        return FitData(Xe, y, self.encoder_)

    def fit(self, X: Table, y: npt.ArrayLike, X_val: Table | None = None,
            y_val: npt.ArrayLike | None = None) -> RiskEnsemble:
        """Fits the learners (searched and early-stopped on X_val when given) and the weights; returns self."""
        if self.imbalance not in ("class_weights", "smote"):
            raise ValueError(f"imbalance must be 'class_weights' or 'smote', not {self.imbalance!r}")
        config = dict(self.weights or DEFAULT_WEIGHTS)
        unknown = set(config) - set(LEARNERS)
        if unknown:
            raise PdeError(f"training.ensemble_weights names unknown learners {sorted(unknown)}; "
                           f"the learners are {', '.join(LEARNERS)}")
        has_val = X_val is not None and y_val is not None
        # fitting weights needs every learner; otherwise a learner weighted 0 is not trained at all
        active = [n for n in LEARNERS if (self.fit_weights and has_val) or config.get(n, 0) > 0]

        df = to_pandas(X)
        self.encoder_ = TableEncoder().fit(df)
        self.feature_names_in_ = np.array(self.encoder_.feature_names_, dtype=object)
        self.n_features_in_ = len(self.encoder_.feature_names_)
        self.classes_ = np.array([0, 1])
        Xe = self.encoder_.transform(df)
        yy = np.asarray(y, dtype=np.int64)
        if self.imbalance == "smote":
            Xe, yy = smote(Xe, yy, self.encoder_.categorical_index_, self.random_state)
            self.pos_weight_ = 1.0
        else:
            self.pos_weight_ = float((yy == 0).sum() / max((yy == 1).sum(), 1))
        train = self._data(Xe, yy)
        val = self._data(self.encoder_.transform(X_val), np.asarray(y_val, dtype=np.int64)) if has_val else None

        user = self.params or {}
        self.learners_: dict[str, Learner] = {}
        self.params_: dict[str, dict[str, Any]] = {}
        self.search_: dict[str, list[dict[str, Any]]] = {}
        kw = {"pos_weight": self.pos_weight_, "random_state": self.random_state, "n_jobs": self.n_jobs}
        for name in active:
            learner = LEARNERS[name]
            if val is not None and self.search_iterations > 1:
                idx = _stratified_sample(yy, SEARCH_MAX_ROWS, self.random_state)
                sub = train if len(idx) == len(yy) else self._data(Xe[idx], yy[idx])
                params, fitted, self.search_[name] = search(learner, sub, val, self.search_iterations, **kw)
                if sub is not train:
                    fitted = learner(params, **kw).fit(train, val)
            else:
                fitted = learner(user.get(name), **kw).fit(train, val)
            self.learners_[name] = fitted
            self.params_[name] = fitted.params_

        if self.fit_weights and val is not None:
            w = fit_weights(np.column_stack([self.learners_[n].margin(val) for n in active]), val.y)
            self.weights_ = {n: float(v) for n, v in zip(active, w, strict=True)}
        else:
            total = sum(config.get(n, 0) for n in active)
            self.weights_ = {n: config.get(n, 0) / total for n in active}
        return self

    def learner_margins(self, X: Table) -> dict[str, np.ndarray]:
        """Each learner's log-odds per row."""
        data = self._data(self.encoder_.transform(X))
        return {n: learner.margin(data) for n, learner in self.learners_.items()}

    def decision_function(self, X: Table) -> np.ndarray:
        """The ensemble's log-odds per row (uncalibrated)."""
        return sum(self.weights_[n] * m for n, m in self.learner_margins(X).items())  # type: ignore[return-value]

    def predict_proba(self, X: Table) -> np.ndarray:
        """(n, 2) uncalibrated probabilities [P(y=0), P(y=1)]."""
        p = expit(self.decision_function(X))
        return np.column_stack([1 - p, p])

    def predict(self, X: Table) -> np.ndarray:
        """0/1 at an uncalibrated probability of 0.5 (use the model's cost threshold for decisions)."""
        return (self.decision_function(X) >= 0).astype(np.int64)

    def contributions(self, X: Table, approximate: bool = False) -> np.ndarray:
        """(n, p + 1) SHAP values in log-odds, last column the expected value; each row sums to decision_function.

        The weighted sum of each learner's exact TreeSHAP (approximate: path attribution, see Learner.contributions).
        """
        data = self._data(self.encoder_.transform(X))
        total = np.zeros((len(data.X), data.X.shape[1] + 1))
        for n, learner in self.learners_.items():
            total += self.weights_[n] * learner.contributions(data, approximate)
        return total

    def prepare_explanations(self) -> None:
        """Builds (and checks) the learners' SHAP tables now rather than on the first explanation."""
        for learner in self.learners_.values():
            learner.shap_table()

    def __setstate__(self, state: dict[str, Any]) -> None:
        # artifacts saved before the learner classes hold the libraries' fitted models themselves: wrap them
        for name, model in state.get("learners_", {}).items():
            if not isinstance(model, Learner):
                state["learners_"][name] = LEARNERS[name].wrap(model, state["params_"][name])
        super().__setstate__(state)
