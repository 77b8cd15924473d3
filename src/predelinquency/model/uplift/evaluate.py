"""Honest evaluation of an uplift model on plan outcomes it did not see: per action, the Qini curve and coefficient
and the uplift among the customers it ranks first, beside the configured prior's; on the synthetic bank, the
correlation of its predicted uplift with the generator's true uplift.

Per action a the population is every held-out row and the rows contacted with a; customers are ranked by the
predicted uplift of a. Qini (Radcliffe): after the top k, q = (misses of the held out in the top k, scaled to the
contacted there) - (misses of the contacted in the top k), divided by all contacted rows: the share of the
contacted whose miss the ranking's top k prevented. Its coefficient is the area between the curve and the
random ranking's straight line (0 for random, positive when the ranking puts the responsive first).
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import polars as pl
from sqlalchemy import Connection

from predelinquency.db.bulk import copy_out
from predelinquency.model.uplift.dataset import UpliftSet
from predelinquency.model.uplift.model import UpliftModel

CURVE_POINTS = 21      # shares 0, 5 %, ..., 100 %
TOP_SHARES = (0.1, 0.2, 0.3)


def qini(pred: np.ndarray, y: np.ndarray, treated: np.ndarray) -> dict[str, Any]:
    """{'curve': [[share, q], ...], 'coefficient', 'uplift_at': {'10': …}} of ranking these rows by pred."""
    order = np.argsort(-pred, kind="stable")
    t, m = treated[order], y[order].astype(np.float64)
    n_t, n_c = np.cumsum(t), np.cumsum(~t)
    y_t, y_c = np.cumsum(m * t), np.cumsum(m * ~t)
    total_t = max(int(t.sum()), 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        q_all = np.where(n_c > 0, y_c * n_t / n_c, 0.0) - y_t
    shares = np.linspace(0, 1, CURVE_POINTS)
    k = np.round(shares * len(order)).astype(np.int64)
    q = np.where(k > 0, q_all[np.maximum(k - 1, 0)], 0.0) / total_t
    coefficient = float(np.trapezoid(q - shares * q[-1], shares))
    uplift_at = {}
    for share in TOP_SHARES:
        top = max(round(share * len(order)), 1) - 1
        ok = n_t[top] > 0 and n_c[top] > 0
        uplift_at[str(round(share * 100))] = (float(y_c[top] / n_c[top] - y_t[top] / n_t[top]) if ok else None)
    return {"curve": [[round(float(s), 4), round(float(v), 6)] for s, v in zip(shares, q, strict=True)],
            "coefficient": round(coefficient, 6), "uplift_at": uplift_at}


def _correlations(pred: np.ndarray, truth: np.ndarray) -> dict[str, float | None]:
    """Pearson and Spearman correlation (None when either side is constant or there are under three rows)."""
    from scipy.stats import pearsonr, spearmanr

    if len(pred) < 3 or np.ptp(pred) == 0 or np.ptp(truth) == 0:
        return {"pearson": None, "spearman": None}
    return {"pearson": round(float(pearsonr(pred, truth)[0]), 4),
            "spearman": round(float(spearmanr(pred, truth)[0]), 4)}


def true_uplift(conn: Connection, data: UpliftSet, actions: list[str]) -> np.ndarray | None:
    """(rows, actions) the generator's true fall in P(miss) per action (NaN where unknown); None off the
    synthetic bank. simulated_outcomes holds it per customer and eligibility (= plan business date)."""
    if len(data) == 0:
        return None
    lo, hi = data.business_date.min().astype(object), data.business_date.max().astype(object)
    truth = copy_out(conn, "SELECT customer_id, eligible_on, p_none, p_action::text AS p_action "
                           "FROM simulated_outcomes WHERE eligible_on BETWEEN %(lo)s AND %(hi)s",
                     {"lo": lo, "hi": hi}, schema={"customer_id": pl.Int64, "eligible_on": pl.Date,
                                                   "p_none": pl.Float64, "p_action": pl.String})
    if truth.height == 0:
        return None
    keys = pl.DataFrame({"customer_id": data.customer_id, "eligible_on": data.business_date.astype("datetime64[D]")})
    joined = keys.with_columns(pl.col("eligible_on").cast(pl.Date)).join(
        truth, on=["customer_id", "eligible_on"], how="left", maintain_order="left")
    out = np.full((len(data), len(actions)), np.nan)
    for i, (p_none, p_action) in enumerate(zip(joined["p_none"], joined["p_action"], strict=True)):
        if p_none is not None:
            by_action = json.loads(p_action)
            out[i] = [p_none - by_action[a] if a in by_action else np.nan for a in actions]
    return out


def evaluate_uplift(model: UpliftModel, prior: UpliftModel, test: UpliftSet,
                    truth: np.ndarray | None) -> dict[str, Any]:
    """Per action: the learned model's and the prior's Qini, uplift at the top 10/20/30 % and correlation with the
    true uplift, on the test rows; with the rows counted and the shrinkage weight of each action."""
    learned_uplift = model.uplift(test.pd, test.X)
    prior_uplift = prior.uplift(test.pd, None)
    held = ~test.contacted
    out: dict[str, Any] = {}
    for j, a in enumerate(model.actions):
        effect = model.effects[a]
        rows = held | (test.contacted & (test.action == a))
        figures: dict[str, Any] = {"weight": round(effect.weight, 6), "outcomes": effect.outcomes,
                                   "effective_outcomes": round(effect.effective_outcomes, 2),
                                   "learned_from_data": effect.learned is not None and effect.weight > 0,
                                   "test_contacted": int((test.contacted & (test.action == a)).sum()),
                                   "test_held_out": int(held.sum())}
        if figures["test_contacted"] and figures["test_held_out"]:
            y, treated = test.y[rows], test.contacted[rows]
            figures["learned"] = qini(learned_uplift[rows, j], y, treated)
            figures["prior"] = qini(prior_uplift[rows, j], y, treated)
            figures["observed_uplift"] = round(float(y[~treated].mean() - y[treated].mean()), 6)
        if truth is not None:
            known = ~np.isnan(truth[:, j])
            figures["truth"] = {"rows": int(known.sum()),
                                "mean_true_uplift": round(float(truth[known, j].mean()), 6) if known.any() else None,
                                "learned": _correlations(learned_uplift[known, j], truth[known, j]),
                                "prior": _correlations(prior_uplift[known, j], truth[known, j])}
        out[a] = figures
    return out
