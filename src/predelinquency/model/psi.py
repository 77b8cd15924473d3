"""Population stability index: baseline bins from training data, PSI of new values against them, and its band.

Bins are (-inf, e0], (e0, e1], …, (e_last, inf) on quantile cut points `edges`, plus one bin for missing
values: `fractions` has len(edges) + 2 entries and its last one is the share of NaN.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import numpy.typing as npt

# an empty bin would make ln(actual/expected) infinite; this floor is the usual convention
_FLOOR = 1e-4
PsiBand = Literal["stable", "watch", "retrain"]
# the usual PSI bands: below WATCH_FROM stable, up to RETRAIN_ABOVE watch, above it retrain
WATCH_FROM = 0.1
RETRAIN_ABOVE = 0.25


def _as_float(values: npt.ArrayLike) -> np.ndarray:
    """Values as float64 with None and non-finite values as NaN."""
    v = np.asarray(values, dtype=np.float64).ravel()
    return np.where(np.isfinite(v), v, np.nan)


def share_per_bin(values: npt.ArrayLike, edges: npt.ArrayLike) -> np.ndarray:
    """Share of the values in each bin of these edges, missing values last (len(edges) + 2 shares)."""
    v = _as_float(values)
    e = np.asarray(edges, dtype=np.float64)
    missing = np.isnan(v)
    idx = np.searchsorted(e, v[~missing], side="left")
    counts = np.bincount(idx, minlength=len(e) + 1).astype(np.float64)
    counts = np.append(counts, missing.sum())
    return counts / max(len(v), 1)


def psi_of_fractions(expected: npt.ArrayLike, actual: npt.ArrayLike) -> float:
    """PSI between two share-per-bin vectors over the same bins (shares of sharded data can be summed first)."""
    e = np.maximum(np.asarray(expected, dtype=np.float64), _FLOOR)
    a = np.maximum(np.asarray(actual, dtype=np.float64), _FLOOR)
    return float(np.sum((a - e) * np.log(a / e)))


def baseline_bins(values: npt.ArrayLike, n_bins: int = 10) -> dict[str, Any]:
    """{'edges': interior quantile cut points, 'fractions': share per bin with NaN last} of the values."""
    v = _as_float(values)
    present = v[~np.isnan(v)]
    if len(present) == 0:
        edges = np.array([], dtype=np.float64)
    else:
        # data values as edges (no interpolation): discrete columns get no empty in-between bins
        qs = np.quantile(present, np.linspace(0, 1, n_bins + 1)[1:-1], method="inverted_cdf")
        # tied quantiles (discrete or constant columns) collapse into one edge; a constant column has one bin
        edges = np.unique(qs)
        edges = edges[edges < present.max()]
    return {"edges": edges.tolist(), "fractions": share_per_bin(v, edges).tolist()}


def psi(baseline: dict[str, Any], values: npt.ArrayLike) -> float:
    """PSI of the values against a baseline from baseline_bins (0 = identical distributions)."""
    v = _as_float(values)
    if len(v) == 0:
        raise ValueError("psi needs at least one value")
    return psi_of_fractions(baseline["fractions"], share_per_bin(v, baseline["edges"]))


def psi_band(value: float) -> PsiBand:
    """'stable' below 0.1, 'watch' from 0.1 to 0.25, 'retrain' above 0.25."""
    if value < WATCH_FROM:
        return "stable"
    if value <= RETRAIN_ABOVE:
        return "watch"
    return "retrain"
