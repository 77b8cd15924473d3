"""RiskEnsemble: CatBoost + XGBoost + LightGBM, combined as a weighted sum of log-odds.

Why log-odds and not probabilities: each learner's native SHAP values are additive in log-odds, so the weighted
sum of margins is explained exactly by the weighted sum of contributions — reason codes add up to the score the
officer sees. Averaging probabilities would break that additivity. The combination is calibrated afterwards
(calibration.py), so the scale of the summed margins does not matter for the PD.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy.optimize import minimize
from scipy.special import expit
from sklearn.base import BaseEstimator, ClassifierMixin

from predelinquency.model import learners as L
from predelinquency.model import pathshap
from predelinquency.model.encoding import Table, TableEncoder, to_pandas
from predelinquency.model.oblivious import ObliviousShap
from predelinquency.model.pathshap import PathShap
from predelinquency.model.resample import smote
from predelinquency.model.search import search

log = logging.getLogger(__name__)

DEFAULT_WEIGHTS = {"catboost": 0.6, "xgboost": 0.2, "lightgbm": 0.2}
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

    def _data(self, Xe: np.ndarray, y: np.ndarray | None = None, catboost: bool | None = None) -> L.FitData:
        """FitData for the learners (CatBoost's string frame only when CatBoost takes part)."""
        if catboost is None:
            catboost = "catboost" in self.learners_
        cb = self.encoder_.catboost_frame(Xe) if catboost else None
        return L.FitData(Xe, y if y is not None else np.zeros(len(Xe)), self.encoder_.categorical_index_, cb)

    def fit(self, X: Table, y: npt.ArrayLike, X_val: Table | None = None,
            y_val: npt.ArrayLike | None = None) -> RiskEnsemble:
        """Fits the learners (searched and early-stopped on X_val when given) and the weights; returns self."""
        if self.imbalance not in ("class_weights", "smote"):
            raise ValueError(f"imbalance must be 'class_weights' or 'smote', not {self.imbalance!r}")
        config = dict(self.weights or DEFAULT_WEIGHTS)
        unknown = set(config) - set(L.LEARNERS)
        if unknown:
            raise ValueError(f"unknown learners: {sorted(unknown)}")
        has_val = X_val is not None and y_val is not None
        # fitting weights needs every learner; otherwise a learner weighted 0 is not trained at all
        active = [n for n in L.LEARNERS if (self.fit_weights and has_val) or config.get(n, 0) > 0]

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
        cb = "catboost" in active
        train = self._data(Xe, yy, cb)
        val = self._data(self.encoder_.transform(X_val), np.asarray(y_val, dtype=np.int64), cb) if has_val else None

        user = self.params or {}
        self.learners_: dict[str, Any] = {}
        self.params_: dict[str, dict[str, Any]] = {}
        self.search_: dict[str, list[dict[str, Any]]] = {}
        kw = {"pos_weight": self.pos_weight_, "seed": self.random_state, "n_jobs": self.n_jobs}
        for name in active:
            params = {**L.DEFAULTS[name], **user.get(name, {})}
            if val is not None and self.search_iterations > 1:
                idx = _stratified_sample(yy, SEARCH_MAX_ROWS, self.random_state)
                sub = train if len(idx) == len(yy) else self._data(Xe[idx], yy[idx], cb)
                params, model, self.search_[name] = search(name, sub, val, self.search_iterations, **kw)
                if sub is not train:
                    model = L.fit_learner(name, params, train, val, **kw)
            else:
                model = L.fit_learner(name, params, train, val, **kw)
            self.learners_[name] = model
            # tree count fixed at the early-stopped optimum: refits without validation (CV) reuse it
            self.params_[name] = {**params, L.TREES_KEY[name]: L.n_trees(name, model)}

        if self.fit_weights and val is not None:
            w = fit_weights(np.column_stack([L.margin(n, self.learners_[n], val) for n in active]), val.y)
            self.weights_ = {n: float(v) for n, v in zip(active, w, strict=True)}
        else:
            total = sum(config.get(n, 0) for n in active)
            self.weights_ = {n: config.get(n, 0) / total for n in active}
        return self

    def learner_margins(self, X: Table) -> dict[str, np.ndarray]:
        """Each learner's log-odds per row."""
        data = self._data(self.encoder_.transform(X))
        return {n: L.margin(n, m, data) for n, m in self.learners_.items()}

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
        """(n, p + 1) SHAP values in log-odds, last column the expected value; each row sums to decision_function."""
        Xe = self.encoder_.transform(X)
        tables = {} if approximate else {n: t for n, t in self._shap_tables().items()
                                         if t is not None and (t.for_batches or len(Xe) <= L.SMALL)}
        data = self._data(Xe, catboost="catboost" in self.learners_ and "catboost" not in tables)
        total = np.zeros((len(Xe), Xe.shape[1] + 1))
        for n, m in self.learners_.items():
            own = tables[n].contributions(Xe) if n in tables else L.contributions(n, m, data, approximate)
            total += self.weights_[n] * own
        return total

    def prepare_explanations(self) -> None:
        """Builds the learners' SHAP tables now rather than on the first explanation."""
        self._shap_tables()

    def _shap_tables(self) -> dict[str, ObliviousShap | PathShap | None]:
        """Each learner's precomputed exact TreeSHAP tables, built on first use (None: the library computes).

        Same values as the libraries' own TreeSHAP, without their per-call set-up: CatBoost redoes its
        per-leaf precomputation on every call (~2.3 ms) and XGBoost needs a DMatrix (~0.2–0.6 ms) even for
        one row. CatBoost's and XGBoost's serve every batch size, so a stored nightly reason and an
        on-demand one are computed alike; LightGBM's a few rows (PathShap.for_batches says why).
        """
        if not hasattr(self, "_tables_"):
            builders = {"catboost": lambda m: ObliviousShap.from_catboost(m),
                        "xgboost": lambda m: pathshap.from_xgboost(m, L.xgb_range(m)),
                        "lightgbm": lambda m: pathshap.from_lightgbm(m, L.lgb_iterations(m))}
            self._tables_ = {n: builders[n](m) for n, m in self.learners_.items()}
        return self._tables_

    def __getstate__(self) -> dict[str, Any]:
        # the tables are derived from the fitted learners: rebuilt after loading, never stored in an artifact
        state = super().__getstate__()
        state.pop("_tables_", None)
        return state
