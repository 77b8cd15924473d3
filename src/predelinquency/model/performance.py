"""Performance before the labels arrive: the AUC and default rate a run's calibrated PDs expect, and the realised
figures once its labels are known.

Confidence-based performance estimation (CBPE, as NannyML does): when the PDs are calibrated, each customer is a
default with probability pd, so the expected confusion counts at every cut-off, and from them the expected ROC
curve and its area, follow from the PDs alone. The area is the ratio of the expected concordant pairs to the
expected positive × negative pairs (a pair is one default and one non-default, never a customer with itself),
which is the expected realised AUC up to terms of order 1/n. It is only as good as the calibration: the realised
figures, once they come, are what checks it.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import numpy.typing as npt

from predelinquency.model.evaluate import auc, calibration_table

CALIBRATION_BINS = 10  # deciles of PD


def _pds(pd: npt.ArrayLike) -> np.ndarray:
    p = np.asarray(pd, dtype=np.float64).ravel()
    return np.clip(p[np.isfinite(p)], 0.0, 1.0)


def expected_default_rate(pd: npt.ArrayLike) -> float | None:
    """The share of customers the calibrated PDs expect to default (their mean); None without customers."""
    p = _pds(pd)
    return float(p.mean()) if len(p) else None


def expected_auc(pd: npt.ArrayLike) -> float | None:
    """The ROC-AUC the calibrated PDs expect of their own labels (CBPE); None when no pair can be expected.

    Pairs (i, j) with pd_i > pd_j count p_i·(1 − p_j) concordant, tied PDs half; divided by the expected number of
    (default, non-default) pairs Σ_{i≠j} p_i·(1 − p_j).
    """
    p = np.sort(_pds(pd))
    q = 1.0 - p
    pairs = p.sum() * q.sum() - float(np.dot(p, q))
    if len(p) < 2 or pairs <= 0:
        return None
    first = np.unique(p, return_index=True)[1]
    group_p = np.add.reduceat(p, first)
    group_q = np.add.reduceat(q, first)
    group_pq = np.add.reduceat(p * q, first)
    below_q = np.concatenate(([0.0], np.cumsum(group_q)[:-1]))  # Σ(1 − p) over strictly lower PDs
    concordant = float(np.dot(group_p, below_q))
    tied = 0.5 * float(np.sum(group_p * group_q - group_pq))     # pairs within a tie, never a customer with itself
    return float((concordant + tied) / pairs)


def auc_standard_error(auc_value: float, positives: float, negatives: float) -> float | None:
    """Hanley & McNeil's standard error of an AUC over this many defaults and non-defaults (None when undefined).

    Conservative for PD scores: it assumes exponential score distributions, wider than a calibrated model's.
    """
    if positives < 1 or negatives < 1 or not 0 < auc_value < 1:
        return None
    q1, q2 = auc_value / (2 - auc_value), 2 * auc_value ** 2 / (1 + auc_value)
    var = (auc_value * (1 - auc_value) + (positives - 1) * (q1 - auc_value ** 2)
           + (negatives - 1) * (q2 - auc_value ** 2)) / (positives * negatives)
    return math.sqrt(max(var, 0.0))


def expected_figures(pd: npt.ArrayLike) -> dict[str, Any]:
    """Expected AUC and default rate of a run's PDs, with the AUC's sampling error at the expected class counts."""
    p = _pds(pd)
    e_auc, rate = expected_auc(p), expected_default_rate(p)
    positives = float(p.sum())
    se = auc_standard_error(e_auc, positives, len(p) - positives) if e_auc is not None else None
    return {"rows": len(p), "expected_auc": e_auc, "expected_default_rate": rate, "expected_auc_se": se}


def realised_figures(y: npt.ArrayLike, pd: npt.ArrayLike) -> dict[str, Any]:
    """Realised AUC (None with one class only), default rate and calibration by PD decile of labelled PDs."""
    yy = np.asarray(y, dtype=np.float64).ravel()
    p = np.asarray(pd, dtype=np.float64).ravel()
    if len(yy) == 0:
        return {"labelled_rows": 0, "realised_auc": None, "realised_default_rate": None, "realised_calibration": None}
    value = auc(yy, p)
    table = calibration_table(yy, p, CALIBRATION_BINS)
    return {"labelled_rows": len(yy), "realised_auc": None if math.isnan(value) else value,
            "realised_default_rate": float(yy.mean()),
            "realised_calibration": [{"decile": i + 1, "rows": n, "mean_pd": m, "observed_rate": o}
                                     for i, (m, o, n) in enumerate(zip(table["pred"], table["true"], table["count"],
                                                                       strict=True))]}
