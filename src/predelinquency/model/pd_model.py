"""PDModel: what scoring, the API and `pde predict` use — calibrated PD, explanations, threshold, version."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from predelinquency.model.calibration import Calibrator
from predelinquency.model.encoding import Table
from predelinquency.model.ensemble import RiskEnsemble


@dataclass
class PDModel:
    """A fitted ensemble with its calibrator and decision threshold, as registered under `version`."""

    ensemble: RiskEnsemble
    calibrator: Calibrator
    threshold: float
    version: str | None = None
    kind: str = "tabular"
    # e.g. target, id_column, time_column for tabular models; library versions it was trained with
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def feature_names(self) -> list[str]:
        """The columns the model needs, in the order of contributions' columns."""
        return list(self.ensemble.encoder_.feature_names_)

    @property
    def categorical_features(self) -> list[str]:
        """The feature columns treated as categories."""
        return list(self.ensemble.encoder_.categorical_)

    @property
    def numeric_features(self) -> list[str]:
        """The feature columns treated as numbers."""
        return self.ensemble.encoder_.numeric_

    def prepare_explanations(self) -> None:
        """Builds and checks the learners' SHAP tables once per model, so that a server pays for them when it
        loads the model rather than on a request."""
        self.ensemble.prepare_explanations()

    def log_odds(self, X: Table) -> np.ndarray:
        """The ensemble's uncalibrated log-odds per row."""
        return self.ensemble.decision_function(X)

    def predict_pd(self, X: Table) -> np.ndarray:
        """Calibrated probability of default per row (X: DataFrame, or one customer as a mapping)."""
        return self.calibrator.predict(self.ensemble.decision_function(X))

    def contributions(self, X: Table, approximate: bool = False) -> np.ndarray:
        """(n, p) SHAP contributions to the log-odds, columns in feature_names order (positive = riskier)."""
        return self.ensemble.contributions(X, approximate)[:, :-1]

    def explain(self, X: Table, approximate: bool = False) -> tuple[np.ndarray, np.ndarray]:
        """(calibrated PD, (n, p) contributions) in one pass: the log-odds are the contributions' row sums.

        approximate=True trades exact TreeSHAP for path attribution (see Learner.contributions): the same PD,
        cheaper where a learner has no table of ours; keep the default wherever reasons are stored or compared.
        """
        full = self.ensemble.contributions(X, approximate)
        return self.calibrator.predict(full.sum(axis=1)), full[:, :-1]

    def expected_log_odds(self, X: Table) -> np.ndarray:
        """The SHAP base value per row: log-odds before any feature is known (constant for tree models)."""
        return self.ensemble.contributions(X)[:, -1]
