"""From model output to risk_scores rows: score, band, tier, policy, reasons, exposure, next-best action, urgency."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import date
from typing import Any

import numpy as np
import polars as pl

from predelinquency.domain.scale import pd_to_score, pd_to_tier, score_to_band
from predelinquency.errors import PdeError
from predelinquency.features import registry
from predelinquency.features.ops import nan_to_zero
from predelinquency.features.payments import is_credit
from predelinquency.features.window import positions
from predelinquency.model.uplift.model import UpliftModel
from predelinquency.scoring.actions import action_benefits, best_actions, expected_loss, urgency
from predelinquency.scoring.policy import apply_policy
from predelinquency.scoring.reasons import reason_codes
from predelinquency.settings import Settings
from predelinquency.table import Table, column

# an instalment due within this many days makes a High-risk customer urgent: the miss would be imminent
DUE_SOON_DAYS = 7


def exposure_and_due(accounts: Table, customer_ids: np.ndarray, as_of: date) -> tuple[np.ndarray, np.ndarray]:
    """Per customer: credit exposure (outstanding on cards and loans) and whether an instalment is due soon."""
    # numpy rather than a polars group-by: the API decides one customer at a time, where a polars query's fixed
    # dispatch cost outweighs the work; for a nightly shard the two are alike
    n = len(customer_ids)
    exposure, days_to_due = np.zeros(n), np.full(n, np.inf)
    if accounts.height:
        pos = positions(customer_ids, column(accounts, "customer_id").astype(np.int64))
        credit = (pos >= 0) & is_credit(column(accounts, "product_type"))
        at = pos[credit]
        outstanding = column(accounts, "outstanding").astype(np.float64)[credit]
        np.add.at(exposure, at, nan_to_zero(outstanding))
        # days until the next due day of each credit product (due days are 1–28, so every month has them)
        due = column(accounts, "due_day").astype(np.float64)[credit]
        dom = as_of.day
        np.minimum.at(days_to_due, at, np.where(due >= dom, due - dom, due + _days_in_month(as_of) - dom))
    return exposure, days_to_due <= DUE_SOON_DAYS


def _days_in_month(d: date) -> int:
    nxt = date(d.year + d.month // 12, d.month % 12 + 1, 1)
    return (nxt - date(d.year, d.month, 1)).days


def _previous(previous: Table, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(prev_pd, prev_tier, prev_score) aligned to ids: NaN, None and NaN where there is no earlier run."""
    prev_pd, prev_score = np.full(len(ids), np.nan), np.full(len(ids), np.nan)
    prev_tier = np.full(len(ids), None, dtype=object)
    if previous.height:
        pos = positions(ids, column(previous, "customer_id").astype(np.int64))
        found = pos >= 0
        at = pos[found]
        prev_pd[at] = column(previous, "prev_pd").astype(np.float64)[found]
        prev_score[at] = column(previous, "prev_score").astype(np.float64)[found]
        prev_tier[at] = column(previous, "prev_tier")[found]
    return prev_pd, prev_tier, prev_score


def uplift_inputs(features: Mapping[str, np.ndarray], names: list[str]) -> np.ndarray | None:
    """The uplift model's feature matrix (n, len(names)) from the computed features; None when it reads none."""
    if not names:
        return None
    missing = [n for n in names if n not in features]
    if missing:
        raise PdeError(f"the uplift model needs features this code does not compute: {', '.join(missing[:5])}")
    return np.column_stack([np.asarray(features[n], dtype=np.float64) for n in names])


def action_uplift_maps(uplift: np.ndarray, names: list[str], worth: np.ndarray) -> list[dict[str, float] | None]:
    """{action: expected fall in P(miss)} per customer where some action is worth its cost, else None."""
    return [dict(zip(names, row, strict=True)) if w else None
            for row, w in zip(uplift.tolist(), worth.tolist(), strict=True)]


def decide(ids: np.ndarray, pd: np.ndarray, contributions: np.ndarray, values: np.ndarray,
           model_features: list[str], features: Mapping[str, np.ndarray], accounts: Table, previous: Table,
           as_of: date, settings: Settings, uplift_model: UpliftModel) -> dict[str, Any]:
    """The risk_scores columns (without as_of/model_version/batch_run_id) of the customers `ids`, as arrays.

    values: the model features' values, (n, p) in model_features order, as explained by contributions;
    features: every computed feature (the policy rules and the uplift model may read features the PD model does
    not use). uplift_model: the run's uplift champion (or the configured prior), whose best positive action is
    recommended.
    previous: customer_id, prev_pd, prev_tier, prev_score from the last earlier run (may be empty).
    Reasons and fired policy rules are lists per customer; see as_frame and as_records.
    """
    score = pd_to_score(pd, settings.scoring)
    model_tier = pd_to_tier(pd, settings.scoring).astype(object)
    tier, fired = apply_policy(model_tier, features, settings.policy_rules)
    exposure, due_soon = exposure_and_due(accounts, ids, as_of)
    el = expected_loss(pd, exposure, settings.costs.lgd)
    names = uplift_model.actions
    uplift = uplift_model.uplift(pd, uplift_inputs(features, uplift_model.feature_names))
    action, benefit, best = best_actions(
        action_benefits(uplift, exposure, settings.costs.lgd, uplift_model.costs()), names)
    chosen_uplift = np.where(best >= 0, uplift[np.arange(len(pd)), np.maximum(best, 0)], np.nan)
    prev_pd, prev_tier, prev_score = _previous(previous, ids)
    return {
        "customer_id": ids.astype(np.int64),
        "pd": pd.astype(np.float64),
        "score": score.astype(np.int16),
        "rating_band": score_to_band(score, settings.scoring).astype(str),
        "tier": tier.astype(str),
        "model_tier": model_tier.astype(str),
        "prev_pd": prev_pd,
        "prev_tier": prev_tier,
        "score_change": score - prev_score,
        "reasons": reason_codes(contributions, values, model_features, registry.get),
        "exposure": exposure,
        "expected_loss": el,
        "recommended_action": action.astype(str),
        "expected_benefit": benefit,
        "uplift": chosen_uplift,
        "action_uplift": action_uplift_maps(uplift, names, best >= 0),
        "urgency": urgency(tier, pd, prev_pd, prev_tier, due_soon, action),
        "policy_rules": fired,
    }


def as_frame(decided: dict[str, Any]) -> pl.DataFrame:
    """decide's columns as the frame COPY writes: reasons as JSON, rules as array literals, NaN as null."""
    out = dict(decided)
    out["prev_pd"] = pl.Series(decided["prev_pd"]).fill_nan(None)
    out["uplift"] = pl.Series(decided["uplift"], dtype=pl.Float64).fill_nan(None)
    out["action_uplift"] = pl.Series([None if u is None else json.dumps(u) for u in decided["action_uplift"]],
                                     dtype=pl.String)
    out["prev_tier"] = pl.Series(decided["prev_tier"].tolist(), dtype=pl.String)
    out["score_change"] = pl.Series(decided["score_change"]).fill_nan(None).cast(pl.Int16)
    out["reasons"] = [json.dumps(r) for r in decided["reasons"]]
    # PostgreSQL array literal for COPY; rule names are config identifiers without commas or braces
    out["policy_rules"] = ["{" + ",".join(f) + "}" for f in decided["policy_rules"]]
    return pl.DataFrame(out)


def as_records(decided: dict[str, Any]) -> list[dict[str, Any]]:
    """decide's columns as one dict of plain Python values per customer (None where there is no earlier run)."""
    columns = {k: v if isinstance(v, list) else v.tolist() for k, v in decided.items()}
    columns["prev_pd"] = [None if v != v else v for v in columns["prev_pd"]]  # NaN is the only value != itself
    columns["uplift"] = [None if v != v else v for v in columns["uplift"]]
    columns["score_change"] = [None if v != v else int(v) for v in columns["score_change"]]
    names = list(columns)
    return [dict(zip(names, row, strict=True)) for row in zip(*columns.values(), strict=True)]
