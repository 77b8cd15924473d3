"""RiskEnsemble: CatBoost + XGBoost + LightGBM, combined as a weighted sum of log-odds.

Why log-odds and not probabilities: each learner's native SHAP values are additive in log-odds, so the weighted
sum of margins is explained exactly by the weighted sum of contributions — reason codes add up to the score the
officer sees. Averaging probabilities would break that additivity. The combination is calibrated afterwards
(calibration.py), so the scale of the summed margins does not matter for the PD; calibration is monotone, so a
feature that raises the log-odds raises the PD. The learners themselves are in learners/, one class each.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy.optimize import minimize
from scipy.special import expit
from sklearn.base import BaseEstimator, ClassifierMixin

from predelinquency.errors import PdeError
from predelinquency.model.encoding import Table, TableEncoder, to_pandas
from predelinquency.model.evaluate import auc
from predelinquency.model.learners import LEARNERS, FitData, Learner
from predelinquency.model.resample import smote
from predelinquency.model.search import Fold, SearchResult, search
from predelinquency.model.split import Folds

log = logging.getLogger(__name__)

DEFAULT_WEIGHTS = {name: learner.weight for name, learner in LEARNERS.items()}
# the search runs on at most this many training rows (stratified sample); the final fit uses them all
SEARCH_MAX_ROWS = 200_000
# how many defaulters' worth of evidence the configured weights count for when fitted weights are shrunk toward
# them: with few defaulters in the validation rows the prior dominates, with thousands the data do
PRIOR_DEFAULTS = 200


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


def blend(margins: dict[str, np.ndarray], y: np.ndarray,
          prior: dict[str, float] | None = None) -> tuple[dict[str, float], dict[str, Any]]:
    """(weights, report): weights fitted on out-of-sample margins, never worse than the best member alone.

    prior: configured weights the fitted ones are shrunk toward, by PRIOR_DEFAULTS against the defaulters seen.
    If the blend's AUC on these margins is below the best member's, that member alone gets weight 1.
    """
    names = list(margins)
    M = np.column_stack([margins[n] for n in names])
    w = fit_weights(M, y)
    method = "fitted"
    if prior:
        p = np.array([prior.get(n, 0.0) for n in names])
        if p.sum() > 0:
            seen = float(min(y.sum(), len(y) - y.sum()))
            share = seen / (seen + PRIOR_DEFAULTS)
            w = share * w + (1 - share) * p / p.sum()
            method = f"fitted, shrunk toward the configured weights ({1 - share:.2f} of the prior)"
    members = {n: auc(y, margins[n]) for n in names}
    blended = auc(y, M @ w)
    best = max(names, key=lambda n: members[n])  # a tie goes to the first in LEARNERS order
    if blended < members[best]:
        w = np.array([float(n == best) for n in names])
        method, blended = f"best member alone ({best}): the blend was below it", members[best]
    report = {"method": method, "validation_auc": {**{n: round(a, 6) for n, a in members.items()},
                                                    "blend": round(blended, 6)}}
    return {n: float(v) for n, v in zip(names, w, strict=True)}, report


def monotone_vector(encoder: TableEncoder, monotone: dict[str, int] | None) -> tuple[int, ...] | None:
    """Per encoded column +1/-1/0 from {column: +1|-1}; PdeError naming an unknown or categorical column."""
    if not monotone:
        return None
    unknown = [c for c in monotone if c not in encoder.feature_names_]
    if unknown:
        raise PdeError(f"training.monotone names {', '.join(f'`{c}`' for c in unknown)}, not a feature column "
                       "of this table")
    categorical = [c for c in monotone if c in encoder.categorical_]
    if categorical:
        raise PdeError(f"training.monotone: {', '.join(f'`{c}`' for c in categorical)} is categorical; "
                       "only a numeric column can be constrained to rise or fall")
    return tuple(int(monotone.get(c, 0)) for c in encoder.feature_names_)


class RiskEnsemble(ClassifierMixin, BaseEstimator):
    """Weighted log-odds ensemble of gradient-boosted trees, following scikit-learn's estimator contract."""

    def __init__(self, weights: dict[str, float] | None = None, imbalance: str = "class_weights",
                 params: dict[str, dict[str, Any]] | None = None, search_trials: int | dict[str, int] = 1,
                 search_seconds: float = 60.0, monotone: dict[str, int] | None = None, random_state: int = 42,
                 n_jobs: int = 2) -> None:
        self.weights = weights
        self.imbalance = imbalance
        self.params = params
        self.search_trials = search_trials
        self.search_seconds = search_seconds
        self.monotone = monotone
        self.random_state = random_state
        self.n_jobs = n_jobs

    def _data(self, Xe: np.ndarray, y: np.ndarray | None = None) -> FitData:
        """The learners' input for an encoded matrix."""
        return FitData(Xe, y, self.encoder_)

    def _training(self, Xe: np.ndarray, y: np.ndarray) -> FitData:
        """Training input: SMOTE-resampled when configured (never the rows a model is validated on)."""
        if self.imbalance == "smote":
            Xe, y = smote(Xe, y, self.encoder_.categorical_index_, self.random_state)
        return self._data(Xe, y)

    def _trials(self, name: str) -> int:
        """The most trials this learner's search may run."""
        t = self.search_trials
        return int(t.get(name, 1)) if isinstance(t, dict) else int(t)

    def fit(self, X: Table, y: npt.ArrayLike, X_val: Table | None = None, y_val: npt.ArrayLike | None = None,
            folds: Folds | None = None) -> RiskEnsemble:
        """Fits the learners and their weights; returns self.

        With folds (positions in X): each learner searched on them, the weights fitted on the out-of-fold margins
        (oof_margin_), then each learner refitted on all of X with its folds' mean tree count. With X_val: searched
        and early-stopped on it, the weights fitted on it, shrunk toward the configured ones. Neither: the given
        params (or defaults) and the configured weights.
        """
        if self.imbalance not in ("class_weights", "smote"):
            raise ValueError(f"imbalance must be 'class_weights' or 'smote', not {self.imbalance!r}")
        config = dict(self.weights or DEFAULT_WEIGHTS)
        unknown = set(config) - set(LEARNERS)
        if unknown:
            raise PdeError(f"training.ensemble_weights names unknown learners {sorted(unknown)}; "
                           f"the learners are {', '.join(LEARNERS)}")
        df = to_pandas(X)
        self.encoder_ = TableEncoder().fit(df)
        self.feature_names_in_ = np.array(self.encoder_.feature_names_, dtype=object)
        self.n_features_in_ = len(self.encoder_.feature_names_)
        self.classes_ = np.array([0, 1])
        self.monotone_ = monotone_vector(self.encoder_, self.monotone)
        Xe = self.encoder_.transform(df)
        yy = np.asarray(y, dtype=np.int64)
        self.pos_weight_ = 1.0 if self.imbalance == "smote" else float((yy == 0).sum() / max((yy == 1).sum(), 1))
        self.learners_: dict[str, Learner] = {}
        self.params_: dict[str, dict[str, Any]] = {}
        self.search_: dict[str, dict[str, Any]] = {}
        self.blend_: dict[str, Any] = {"method": "configured weights"}
        kw = {"pos_weight": self.pos_weight_, "random_state": self.random_state, "n_jobs": self.n_jobs,
              "monotone": self.monotone_}
        if folds is None and X_val is None:
            for name in [n for n in LEARNERS if config.get(n, 0) > 0]:  # a learner weighted 0 is not trained
                self.learners_[name] = LEARNERS[name]((self.params or {}).get(name), **kw).fit(self._training(Xe, yy))
                self.params_[name] = self.learners_[name].params_
            total = sum(config.get(n, 0) for n in self.learners_)
            self.weights_ = {n: config.get(n, 0) / total for n in self.learners_}
            return self

        if folds is not None:
            fold_data = [(self._training(Xe[tr], yy[tr]), self._data(Xe[va], yy[va])) for tr, va in folds]
        else:
            assert X_val is not None and y_val is not None
            idx = _stratified_sample(yy, SEARCH_MAX_ROWS, self.random_state)
            sampled = len(idx) < len(yy)
            val = self._data(self.encoder_.transform(X_val), np.asarray(y_val, dtype=np.int64))
            fold_data = [(self._training(Xe[idx], yy[idx]) if sampled else self._training(Xe, yy), val)]
        results = self._search(fold_data, **kw)

        if folds is not None:
            oof = {}
            for name, r in results.items():
                oof[name] = np.empty(len(yy))
                for (_, va), m in zip(folds, r.margins, strict=True):
                    oof[name][va] = m
            self.weights_, self.blend_ = blend(oof, yy)
            self.oof_margin_ = sum(self.weights_[n] * m for n, m in oof.items())
            self.fold_auc_ = [auc(yy[va], self.oof_margin_[va]) for _, va in folds]
            train = self._training(Xe, yy)
            for name, r in results.items():
                params = {**r.params, LEARNERS[name].trees_param: max(1, round(float(np.mean(r.trees))))}
                self.learners_[name] = LEARNERS[name](params, **kw).fit(train)
        else:
            for name, r in results.items():
                # searched on a sample: the best parameters refitted on every training row
                self.learners_[name] = (LEARNERS[name](r.params, **kw).fit(self._training(Xe, yy), val)
                                        if sampled or r.fitted is None else r.fitted)
            self.weights_, self.blend_ = blend({n: self.learners_[n].margin(val) for n in results}, val.y,
                                               prior=config)
        self.params_ = {n: learner.params_ for n, learner in self.learners_.items()}
        return self

    def _search(self, folds: list[Fold], **kw: Any) -> dict[str, SearchResult]:
        """Each learner's search, the time budget shared: each gets an equal part of what the others left."""
        out: dict[str, SearchResult] = {}
        user = self.params or {}
        start = time.perf_counter()
        names = list(LEARNERS)
        for i, name in enumerate(names):
            left = self.search_seconds - (time.perf_counter() - start)
            out[name] = search(LEARNERS[name], folds, trials=self._trials(name), seconds=left / (len(names) - i),
                               class_weights=self.imbalance == "class_weights", fixed=user.get(name), **kw)
            self.search_[name] = out[name].summary()
        return out

    def learner_margins(self, X: Table) -> dict[str, np.ndarray]:
        """Each learner's log-odds per row."""
        data = self._data(self.encoder_.transform(X))
        return {n: learner.margin(data) for n, learner in self.learners_.items()}

    def decision_function(self, X: Table) -> np.ndarray:
        """The ensemble's log-odds per row (uncalibrated)."""
        data = self._data(self.encoder_.transform(X))
        return sum(w * self.learners_[n].margin(data) for n, w in self._weighted())  # type: ignore[return-value]

    def _weighted(self) -> list[tuple[str, float]]:
        """(learner, weight) of the learners in the blend: one weighted 0 costs nothing at scoring."""
        return [(n, w) for n, w in self.weights_.items() if w > 0]

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
        for n, w in self._weighted():
            total += w * self.learners_[n].contributions(data, approximate)
        return total

    def prepare_explanations(self) -> None:
        """Builds (and checks) the learners' SHAP tables now rather than on the first explanation."""
        for n, _ in self._weighted():
            self.learners_[n].shap_table()

    def __setstate__(self, state: dict[str, Any]) -> None:
        # artifacts saved before the learner classes hold the libraries' fitted models themselves: wrap them
        for name, model in state.get("learners_", {}).items():
            if not isinstance(model, Learner):
                state["learners_"][name] = LEARNERS[name].wrap(model, state["params_"][name])
        super().__setstate__(state)
