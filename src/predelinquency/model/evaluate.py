"""Metrics of calibrated PDs on the out-of-time test: discrimination, calibration, decisions, cost, and curves.

Costs are totals over the test customers (currency units); `*_per_customer` divides by their number.
The no-model baseline intervenes on nobody (every default is missed); the 0.5 baseline intervenes when PD ≥ 0.5.
Curves are downsampled to at most MAX_POINTS points so they can go straight into a dashboard chart.
Given the scoring settings and each row's segment, the same figures are broken down by risk tier and segment.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
from sklearn.metrics import average_precision_score, brier_score_loss, precision_recall_curve, roc_auc_score, roc_curve

from predelinquency.domain.scale import pd_to_tier
from predelinquency.domain.vocabulary import TIERS
from predelinquency.model.threshold import cost_by_cutoff, expected_cost
from predelinquency.settings import Costs, Scoring

MAX_POINTS = 200
TOP_FRACTION = 0.05  # an officer team's capacity: the riskiest 5% of customers


def _r(x: float, digits: int = 6) -> float:
    """Rounded for JSON; NaN stays NaN."""
    return round(float(x), digits)


def _none_if_nan(x: float) -> float | None:
    return None if math.isnan(x) else _r(x)


def _thin(n: int, max_points: int = MAX_POINTS) -> np.ndarray:
    """At most max_points evenly spaced indices into n points, always keeping the first and last."""
    if n <= max_points:
        return np.arange(n)
    return np.unique(np.linspace(0, n - 1, max_points).round().astype(np.int64))


def auc(y: npt.ArrayLike, score: npt.ArrayLike) -> float:
    """ROC-AUC, NaN when only one class is present."""
    yy = np.asarray(y)
    return float(roc_auc_score(yy, score)) if len(np.unique(yy)) == 2 else math.nan


def expected_calibration_error(y: npt.ArrayLike, pd: npt.ArrayLike, n_bins: int = 10) -> float:
    """ECE: row-weighted mean |mean PD − default rate| over n_bins equal-width PD bins."""
    yy = np.asarray(y, dtype=np.float64)
    p = np.asarray(pd, dtype=np.float64)
    idx = np.clip((p * n_bins).astype(np.int64), 0, n_bins - 1)
    count = np.bincount(idx, minlength=n_bins)
    sum_p = np.bincount(idx, weights=p, minlength=n_bins)
    sum_y = np.bincount(idx, weights=yy, minlength=n_bins)
    used = count > 0
    return float(np.sum(np.abs(sum_p[used] - sum_y[used])) / len(p))


def calibration_table(y: npt.ArrayLike, pd: npt.ArrayLike, n_bins: int = 10) -> dict[str, list[float]]:
    """{pred, true, count} per PD-quantile bin: equal-count bins show low-PD portfolios in detail."""
    yy = np.asarray(y, dtype=np.float64)
    p = np.asarray(pd, dtype=np.float64)
    order = np.argsort(p, kind="stable")
    bins = [b for b in np.array_split(order, n_bins) if len(b)]
    return {"pred": [_r(p[b].mean()) for b in bins], "true": [_r(yy[b].mean()) for b in bins],
            "count": [len(b) for b in bins]}


def precision_recall_at(y: np.ndarray, act: np.ndarray) -> tuple[float, float]:
    """(precision, recall) of intervening on the rows where act is True; precision 0 when nobody is acted on."""
    tp = float(np.sum(act & (y == 1)))
    return (tp / act.sum() if act.sum() else 0.0), (tp / y.sum() if y.sum() else math.nan)


def by_group(y: npt.ArrayLike, pd: npt.ArrayLike, groups: npt.ArrayLike, threshold: float,
             order: Sequence[str] | None = None) -> list[dict[str, Any]]:
    """Per group: rows, defaults, default rate, mean PD, AUC, share flagged at the threshold, precision and recall
    there, and the group's share of all defaults; `order` lists the groups (empty ones too), else sorted."""
    yy = np.asarray(y, dtype=np.int64)
    p = np.asarray(pd, dtype=np.float64)
    g = np.asarray(groups).astype(str)
    names = list(order) if order is not None else sorted(set(g.tolist()))
    total_defaults = int(yy.sum())
    out = []
    for name in names:
        m = g == name
        n, d = int(m.sum()), int(yy[m].sum())
        act = p[m] >= threshold
        prec, rec = precision_recall_at(yy[m], act) if n else (math.nan, math.nan)
        out.append({"group": name, "rows": n, "defaults": d,
                    "default_rate": _r(d / n) if n else None, "mean_pd": _r(p[m].mean()) if n else None,
                    # None, not NaN, where one class is missing: NaN never equals itself in a stored version
                    "auc": _none_if_nan(auc(yy[m], p[m])) if n else None,
                    "flagged_share": _r(act.mean()) if n else None,
                    "precision_at_threshold": _r(prec) if n and act.any() else None,
                    "recall_at_threshold": _r(rec) if d else None,
                    "share_of_defaults": _r(d / total_defaults) if total_defaults else None})
    return out


def evaluate(y: npt.ArrayLike, pd: npt.ArrayLike, threshold: float, costs: Costs,
             top_fraction: float = TOP_FRACTION, *, scoring: Scoring | None = None,
             segments: npt.ArrayLike | None = None) -> dict[str, Any]:
    """The metrics dict stored with a model version (scalars plus 'curves'; 'by_tier' given the scoring
    settings, 'by_segment' given each row's segment)."""
    yy = np.asarray(y, dtype=np.int64)
    p = np.asarray(pd, dtype=np.float64)
    n = len(yy)
    act = p >= threshold
    prec, rec = precision_recall_at(yy, act)
    k = max(1, math.ceil(top_fraction * n))
    top = np.zeros(n, dtype=bool)
    top[np.argsort(-p, kind="stable")[:k]] = True
    prec_top, rec_top = precision_recall_at(yy, top)
    cost = expected_cost(yy, p, threshold, costs)
    cost_none = costs.missed_default * float(yy.sum())
    cost_half = expected_cost(yy, p, 0.5, costs)
    tp, fp = int(np.sum(act & (yy == 1))), int(np.sum(act & (yy == 0)))
    fn, tn = int(yy.sum()) - tp, int(n - yy.sum()) - fp

    fpr, tpr, _ = roc_curve(yy, p)
    keep = _thin(len(fpr))
    precision, recall, _ = precision_recall_curve(yy, p)
    keep_pr = _thin(len(precision))
    thresholds, cost_curve = cost_by_cutoff(yy, p, costs)
    keep_c = _thin(len(thresholds) - 1) + 1  # the 'nobody' point (inf) is the no-model baseline, reported apart
    metrics: dict[str, Any] = {
        "oot_auc": _r(auc(yy, p)),
        "oot_pr_auc": _r(average_precision_score(yy, p)),
        "brier": _r(brier_score_loss(yy, p)),
        "ece": _r(expected_calibration_error(yy, p)),
        "threshold": _r(threshold, 8),
        "precision_at_threshold": _r(prec),
        "recall_at_threshold": _r(rec),
        "share_flagged_at_threshold": _r(act.mean()),
        "precision_top5": _r(prec_top),
        "recall_top5": _r(rec_top),
        "expected_cost": _r(cost, 2),
        "expected_cost_no_model": _r(cost_none, 2),
        "expected_cost_at_0_5": _r(cost_half, 2),
        "expected_cost_per_customer": _r(cost / n, 4),
        "cost_saving_vs_no_model": _r(cost_none - cost, 2),
        "cost_baselines": "no_model: intervene on nobody; at_0_5: intervene when PD >= 0.5",
        "test_rows": n,
        "test_defaults": int(yy.sum()),
        "test_default_rate": _r(yy.mean()),
        "mean_pd": _r(p.mean()),
        "curves": {
            "roc": {"fpr": [_r(v) for v in fpr[keep]], "tpr": [_r(v) for v in tpr[keep]]},
            "pr": {"precision": [_r(v) for v in precision[keep_pr]], "recall": [_r(v) for v in recall[keep_pr]]},
            "calibration": calibration_table(yy, p),
            "confusion": {"tp": tp, "fp": fp, "tn": tn, "fn": fn},
            "cost_curve": {"threshold": [_r(v, 8) for v in thresholds[keep_c]],
                           "cost": [_r(v, 2) for v in cost_curve[keep_c]]},
        },
    }
    if scoring is not None:
        metrics["by_tier"] = by_group(yy, p, pd_to_tier(p, scoring), threshold, order=TIERS)
        metrics["tier_bounds"] = dict(scoring.tiers)
    if segments is not None:
        metrics["by_segment"] = by_group(yy, p, segments, threshold)
    return metrics
