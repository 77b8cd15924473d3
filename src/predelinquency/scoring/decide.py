"""From model output to risk_scores rows: score, band, tier, policy, reasons, exposure, action, urgency."""

from __future__ import annotations

import json
from datetime import date

import numpy as np
import polars as pl

from predelinquency.features import registry
from predelinquency.scoring.actions import expected_loss, recommend_actions, urgency
from predelinquency.scoring.policy import apply_policy
from predelinquency.scoring.reasons import reason_codes
from predelinquency.scoring.scale import pd_to_score, pd_to_tier, score_to_band
from predelinquency.settings import Settings

CREDIT_PRODUCTS = ("credit_card", "personal_loan")
# an instalment due within this many days makes a High-risk customer urgent: the miss would be imminent
DUE_SOON_DAYS = 7


def exposure_and_due(accounts: pl.DataFrame, customer_ids: np.ndarray, as_of: date) -> tuple[np.ndarray, np.ndarray]:
    """Per customer: credit exposure (outstanding on cards and loans) and whether an instalment is due soon."""
    credit = accounts.filter(pl.col("product_type").is_in(CREDIT_PRODUCTS))
    # days until the next due day of each credit product (due days are 1–28, so every month has them)
    dom = as_of.day
    credit = credit.with_columns(
        pl.when(pl.col("due_day") >= dom).then(pl.col("due_day") - dom)
        .otherwise(pl.col("due_day") + _days_in_month(as_of) - dom).alias("days_to_due"))
    per = credit.group_by("customer_id").agg(
        pl.col("outstanding").cast(pl.Float64).sum().alias("exposure"),
        pl.col("days_to_due").min().alias("days_to_due"))
    aligned = pl.DataFrame({"customer_id": customer_ids.astype(np.int64)}).join(per, on="customer_id", how="left")
    exposure = aligned["exposure"].fill_null(0.0).to_numpy()
    due_soon = (aligned["days_to_due"].fill_null(999).to_numpy() <= DUE_SOON_DAYS)
    return exposure, due_soon


def _days_in_month(d: date) -> int:
    nxt = date(d.year + d.month // 12, d.month % 12 + 1, 1)
    return (nxt - date(d.year, d.month, 1)).days


def decide(features: pl.DataFrame, pd: np.ndarray, contributions: np.ndarray, model_features: list[str],
           accounts: pl.DataFrame, previous: pl.DataFrame, as_of: date, settings: Settings) -> pl.DataFrame:
    """One risk_scores row per customer in `features` (without as_of/model_version/batch_run_id).

    previous: customer_id, prev_pd, prev_tier, prev_score from the last earlier run (may be empty).
    """
    ids = features["customer_id"].to_numpy().astype(np.int64)
    score = pd_to_score(pd, settings.scoring)
    model_tier = pd_to_tier(pd, settings.scoring).astype(object)
    tier, fired = apply_policy(model_tier, features, settings.policy_rules)
    values = features.select(pl.col(model_features)).to_numpy().astype(np.float64)
    reasons = reason_codes(contributions, values, model_features, registry.get)
    exposure, due_soon = exposure_and_due(accounts, ids, as_of)
    el = expected_loss(pd, exposure, settings.costs.lgd)
    action, benefit = recommend_actions(el, settings.actions)
    prev = pl.DataFrame({"customer_id": ids}).join(previous, on="customer_id", how="left")
    prev_pd = prev["prev_pd"].cast(pl.Float64).fill_null(np.nan).to_numpy()
    prev_tier = prev["prev_tier"].to_numpy().astype(object)
    prev_score = prev["prev_score"].cast(pl.Float64).to_numpy()
    return pl.DataFrame({
        "customer_id": ids,
        "pd": pd.astype(np.float64),
        "score": score.astype(np.int16),
        "rating_band": score_to_band(score, settings.scoring).astype(str),
        "tier": tier.astype(str),
        "model_tier": model_tier.astype(str),
        "prev_pd": pl.Series(prev_pd).fill_nan(None),
        "prev_tier": prev["prev_tier"],
        "score_change": pl.Series(score - prev_score).fill_nan(None).cast(pl.Int16),
        "reasons": [json.dumps(r) for r in reasons],
        "exposure": exposure,
        "expected_loss": el,
        "recommended_action": action.astype(str),
        "expected_benefit": benefit,
        "urgency": urgency(tier, pd, prev_pd, prev_tier, due_soon, action),
        # PostgreSQL array literal for COPY; rule names are config identifiers without commas or braces
        "policy_rules": ["{" + ",".join(f) + "}" for f in fired],
    })
