"""A model's global feature importance: the mean absolute SHAP contribution of each feature, in log-odds."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt


def global_importance(contribs: npt.ArrayLike, feature_names: list[str]) -> list[dict[str, Any]]:
    """[{feature, importance}] by mean |SHAP| in log-odds, most important first."""
    c = np.asarray(contribs, dtype=np.float64)
    mean_abs = np.abs(c).mean(axis=0) if len(c) else np.zeros(len(feature_names))
    order = np.argsort(-mean_abs, kind="stable")
    return [{"feature": feature_names[i], "importance": round(float(mean_abs[i]), 6)} for i in order]
