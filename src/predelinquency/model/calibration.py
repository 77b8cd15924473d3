"""Probability calibration of the ensemble's log-odds on held-out (validation) data: Platt or isotonic.

Which one: both are scored by 5-fold cross-validated Brier score *within* the validation window and the better one
is refitted on all of it. Choosing on in-sample fit would always pick isotonic (it is the more flexible of the two
and overfits small windows); Brier rather than log-loss because isotonic can output exactly 0 or 1 out of fold.
Isotonic is only a candidate from ISOTONIC_MIN_ROWS held-out rows up (scikit-learn's guidance: below ~1000 it
overfits); its step function also ties many customers at one PD, which costs ranking resolution on small data.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import numpy.typing as npt
from scipy.special import expit
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold

Method = Literal["auto", "platt", "isotonic"]
# PDs of exactly 0 or 1 are never credible and break odds-based scores downstream
PD_FLOOR = 1e-6
ISOTONIC_MIN_ROWS = 1000


class Calibrator:
    """Maps ensemble log-odds to a calibrated probability of default."""

    def __init__(self, method: Method = "auto", folds: int = 5, random_state: int = 42) -> None:
        self.method = method
        self.folds = folds
        self.random_state = random_state

    @staticmethod
    def _fit_one(method: str, z: np.ndarray, y: np.ndarray) -> LogisticRegression | IsotonicRegression:
        """A fitted Platt (logistic on the log-odds) or isotonic map."""
        if method == "platt":
            # unpenalised: two parameters on thousands of rows need no shrinkage
            return LogisticRegression(C=1e6).fit(z.reshape(-1, 1), y)
        return IsotonicRegression(out_of_bounds="clip", y_min=0.0, y_max=1.0).fit(z, y)

    @staticmethod
    def _apply(model: LogisticRegression | IsotonicRegression, z: np.ndarray) -> np.ndarray:
        if isinstance(model, LogisticRegression):
            return expit(model.coef_[0, 0] * z + model.intercept_[0])
        # the fitted step function, interpolated as scikit-learn does, without its input validation, which is
        # most of the calibration's cost for one customer
        return np.interp(np.clip(z, model.X_min_, model.X_max_), model.X_thresholds_, model.y_thresholds_)

    def _cv_brier(self, method: str, z: np.ndarray, y: np.ndarray) -> float:
        """Out-of-fold Brier score of the method within the calibration data."""
        folds = min(self.folds, int(y.sum()), int(len(y) - y.sum()))
        if folds < 2:
            return float("inf") if method == "isotonic" else 0.0
        oof = np.empty(len(y))
        cv = StratifiedKFold(folds, shuffle=True, random_state=self.random_state)
        for tr, te in cv.split(z, y):
            oof[te] = self._apply(self._fit_one(method, z[tr], y[tr]), z[te])
        return float(np.mean((oof - y) ** 2))

    def fit(self, log_odds: npt.ArrayLike, y: npt.ArrayLike) -> Calibrator:
        """Chooses (when method='auto') and fits the map on held-out log-odds and outcomes; returns self."""
        z = np.asarray(log_odds, dtype=np.float64)
        yy = np.asarray(y, dtype=np.int64)
        if self.method == "auto":
            candidates = ("platt", "isotonic") if len(yy) >= ISOTONIC_MIN_ROWS else ("platt",)
            self.cv_brier_ = {m: self._cv_brier(m, z, yy) for m in candidates}
            self.method_ = min(self.cv_brier_, key=self.cv_brier_.__getitem__)
        else:
            self.cv_brier_ = {}
            self.method_ = self.method
        self.model_ = self._fit_one(self.method_, z, yy)
        return self

    def predict(self, log_odds: npt.ArrayLike) -> np.ndarray:
        """Calibrated PD per row, within [PD_FLOOR, 1 - PD_FLOOR]."""
        z = np.asarray(log_odds, dtype=np.float64)
        return np.clip(self._apply(self.model_, z), PD_FLOOR, 1 - PD_FLOOR)
