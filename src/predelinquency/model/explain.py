"""SHAP explanations of the ensemble in log-odds: per-row contributions and global importance.

The per-row values are the weighted sum of each learner's exact path-dependent tree SHAP with the ensemble
weights, so row sums equal the ensemble's log-odds before calibration. They are read from per-leaf tables
(oblivious.py for CatBoost, pathshap.py for XGBoost and LightGBM), equal to CatBoost's ShapValues, XGBoost's
pred_contribs and LightGBM's pred_contrib; the libraries compute them where a table does not apply.
Calibration is monotone, so a feature that raises the log-odds raises the PD.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from predelinquency.model.encoding import Table
from predelinquency.model.ensemble import RiskEnsemble


def contributions(ensemble: RiskEnsemble, X: Table) -> tuple[np.ndarray, np.ndarray]:
    """(per-feature contributions (n, p) in feature order, expected log-odds per row (n,))."""
    full = ensemble.contributions(X)
    return full[:, :-1], full[:, -1]


def global_importance(contribs: npt.ArrayLike, feature_names: list[str]) -> list[dict[str, Any]]:
    """[{feature, importance}] by mean |SHAP| in log-odds, most important first."""
    c = np.asarray(contribs, dtype=np.float64)
    mean_abs = np.abs(c).mean(axis=0) if len(c) else np.zeros(len(feature_names))
    order = np.argsort(-mean_abs, kind="stable")
    return [{"feature": feature_names[i], "importance": round(float(mean_abs[i]), 6)} for i in order]


def top_contributors(contribs: npt.ArrayLike, k: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """(feature positions, contributions), each (n, k), of the k features raising each row's risk most."""
    c = np.asarray(contribs, dtype=np.float64)
    k = min(k, c.shape[1])
    # argpartition then a sort of k columns: linear in the features, not n·p·log p
    idx = np.argpartition(-c, k - 1, axis=1)[:, :k] if c.shape[1] > k else np.tile(np.arange(k), (len(c), 1))
    vals = np.take_along_axis(c, idx, axis=1)
    order = np.argsort(-vals, axis=1, kind="stable")
    return np.take_along_axis(idx, order, axis=1), np.take_along_axis(vals, order, axis=1)
