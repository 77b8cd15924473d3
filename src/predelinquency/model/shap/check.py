"""A table's values checked against its library's own exact SHAP on probe rows, when the table is built."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol, TypeVar

import numpy as np

# probe rows a fresh table is compared on
PROBE_ROWS = 64


class ShapTable(Protocol):
    """Per-leaf SHAP tables of one fitted model."""

    expected_value: float

    def contributions(self, X: np.ndarray) -> np.ndarray:
        """(n, features + 1) SHAP values in log-odds, the last column the expected value."""
        ...


T = TypeVar("T", bound=ShapTable)


class ShapMismatch(RuntimeError):
    """A table whose values differ from its library's: a bug in the table builder, so it is never used."""


def probe_rows(n_features: int, thresholds: list[tuple[int, float]]) -> np.ndarray:
    """Rows whose values sit just either side of the model's thresholds, at zero, and missing."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(PROBE_ROWS, n_features))
    # a split at ±1e300 only separates missing values, which the rows below have
    cuts = [(f, t) for f, t in thresholds if abs(t) < 1e30]
    for f in {f for f, _ in cuts}:
        own = np.array([t for g, t in cuts if g == f])
        at = own[rng.integers(0, len(own), size=PROBE_ROWS)]
        X[:, f] = at + rng.choice([-1e-3, 1e-3], size=PROBE_ROWS) * (1 + np.abs(at))
    X[rng.random(X.shape) < 0.1] = 0.0
    X[rng.random(X.shape) < 0.1] = np.nan
    return X


def checked(table: T, library: str, shap_values: Callable[[np.ndarray], np.ndarray],
            raw_prediction: Callable[[np.ndarray], np.ndarray], X: np.ndarray, tolerance: float) -> T:
    """The table, once its SHAP values and their row sums equal the library's on X; ShapMismatch otherwise.

    library names the library and its version in the message, e.g. "CatBoost 1.2.7".
    """
    ours = table.contributions(X)
    gaps = {"SHAP values": float(np.max(np.abs(ours - np.asarray(shap_values(X), dtype=np.float64)))),
            "raw prediction": float(np.max(np.abs(ours.sum(axis=1) - np.asarray(raw_prediction(X)))))}
    for what, gap in gaps.items():
        if not gap <= tolerance:  # NaN counts as a disagreement
            raise ShapMismatch(f"our SHAP table differs from {library}'s own {what} by {gap:.2g} on "
                               f"{len(X)} probe rows (tolerance {tolerance:g}): the table builder in "
                               "predelinquency/model/shap does not cover this model or this library version")
    return table
