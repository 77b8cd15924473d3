"""The decision threshold: intervene when PD ≥ t, with t minimising cost_missed_default·FN + cost_intervention·FP."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from predelinquency.settings import Costs


def expected_cost(y: npt.ArrayLike, pd: npt.ArrayLike, threshold: float, costs: Costs) -> float:
    """Total cost on these customers when intervening on everyone with PD ≥ threshold."""
    yy = np.asarray(y, dtype=np.int64)
    act = np.asarray(pd, dtype=np.float64) >= threshold
    fn = int(np.sum(~act & (yy == 1)))
    fp = int(np.sum(act & (yy == 0)))
    return costs.missed_default * fn + costs.intervention * fp


def cost_by_cutoff(y: npt.ArrayLike, pd: npt.ArrayLike, costs: Costs) -> tuple[np.ndarray, np.ndarray]:
    """(thresholds, total costs) for every distinct decision: each distinct PD as threshold, plus 'nobody' (inf).

    Vectorised: sort once, count true and false positives cumulatively from the riskiest customer down.
    """
    yy = np.asarray(y, dtype=np.int64)
    p = np.asarray(pd, dtype=np.float64)
    order = np.argsort(-p, kind="stable")
    ps, ys = p[order], yy[order]
    tp = np.cumsum(ys)
    fp = np.cumsum(1 - ys)
    # a threshold equal to a PD includes every tie: keep the last position of each run of equal PDs
    last = np.r_[ps[1:] != ps[:-1], True]
    thresholds = np.r_[np.inf, ps[last]]
    tp = np.r_[0, tp[last]]
    fp = np.r_[0, fp[last]]
    fn = yy.sum() - tp
    return thresholds, costs.missed_default * fn + costs.intervention * fp


def best_threshold(y: npt.ArrayLike, pd: npt.ArrayLike, costs: Costs) -> float:
    """The cost-minimising threshold, placed midway between the chosen PD and the next lower one.

    Midway rather than at the PD itself, so a slightly different PD on new data falls on the same side. If
    intervening on nobody is cheapest, the threshold is just above the highest PD seen (capped at 1).
    """
    thresholds, cost = cost_by_cutoff(y, pd, costs)
    i = int(np.argmin(cost))  # the first minimum: the highest threshold among equally cheap ones
    distinct = thresholds[1:]  # descending distinct PDs
    if i == 0:
        return float(min(1.0, np.nextafter(distinct[0], np.inf))) if len(distinct) else 1.0
    chosen = distinct[i - 1]
    lower = distinct[i] if i < len(distinct) else 0.0
    return float((chosen + lower) / 2)


def bayes_threshold(costs: Costs) -> float:
    """The threshold optimal for perfectly calibrated PDs: c_FP / (c_FP + c_FN)."""
    return costs.intervention / (costs.intervention + costs.missed_default)
