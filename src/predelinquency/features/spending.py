"""Spending family: essential vs discretionary spend, category shifts (last 30 days vs the 60 before), burden."""

from __future__ import annotations

import numpy as np

from predelinquency.features.ops import block_sums, cv, head, rate_ratio, ratio, tail
from predelinquency.features.window import Window

FAMILY = "spending"
# categories whose mix is compared between the last 30 days and the 60 before
MIX_COLUMNS = ("essential_out", "discretionary_out", "atm_out", "gambling_out", "lending_app_out", "debt_service_out")

# name, unit, risk direction, description, reason template
SPECS: tuple[tuple[str, str, int, str, str], ...] = (
    ("spend_total_30d", "currency", 0, "all money out of the current account in the last 30 days",
     "spent {value:,.0f} in the last 30 days"),
    ("spend_total_90d", "currency", 0, "all money out of the current account in the last 90 days",
     "spent {value:,.0f} in the last 90 days"),
    ("spend_total_30d_vs_prev60", "ratio", 1, "daily spend in the last 30 days over the 60 days before",
     "spending ran at {value:.0%} of the usual rate in the last 30 days"),
    ("spend_essential_30d", "currency", 0, "groceries, utilities, rent, transport and health in the last 30 days",
     "essential spending was {value:,.0f} in the last 30 days"),
    ("spend_essential_90d", "currency", 0, "groceries, utilities, rent, transport and health in the last 90 days",
     "essential spending was {value:,.0f} in the last 90 days"),
    ("spend_essential_30d_vs_prev60", "ratio", 1, "daily essential spend in the last 30 days over the 60 before",
     "essential spending ran at {value:.0%} of the usual rate"),
    ("spend_discretionary_30d", "currency", 0, "dining, entertainment, shopping, travel, subscriptions, 30 days",
     "discretionary spending was {value:,.0f} in the last 30 days"),
    ("spend_discretionary_90d", "currency", 0, "dining, entertainment, shopping, travel, subscriptions, 90 days",
     "discretionary spending was {value:,.0f} in the last 90 days"),
    ("spend_discretionary_30d_vs_prev60", "ratio", 0, "daily discretionary spend, last 30 days over the 60 before",
     "discretionary spending ran at {value:.0%} of the usual rate"),
    ("spend_essential_share_30d", "ratio", 1, "essential share of essential + discretionary spend, last 30 days",
     "{value:.0%} of spending went on essentials in the last 30 days"),
    ("spend_essential_share_90d", "ratio", 1, "essential share of essential + discretionary spend, last 90 days",
     "{value:.0%} of spending went on essentials in the last 90 days"),
    ("spend_essential_share_change_30d", "ratio", 1, "essential share in the last 30 days minus in the 60 before",
     "the essential share of spending moved by {value:+.0%}"),
    ("spend_category_shift_30d_vs_prev60", "ratio", 1,
     "how much the spending mix changed: half the summed share differences, 0 (same) to 1 (all different)",
     "the spending mix shifted by {value:.0%} against the previous two months"),
    ("spend_utility_30d", "currency", 0, "utility bills paid in the last 30 days",
     "utility payments were {value:,.0f} in the last 30 days"),
    ("spend_utility_30d_vs_prev60", "ratio", -1, "daily utility payments, last 30 days over the 60 before",
     "utility payments ran at {value:.0%} of the usual rate"),
    ("spend_debt_service_30d", "currency", 1, "loan instalments and card repayments in the last 30 days",
     "debt repayments were {value:,.0f} in the last 30 days"),
    ("spend_debt_service_90d", "currency", 1, "loan instalments and card repayments in the last 90 days",
     "debt repayments were {value:,.0f} in the last 90 days"),
    ("spend_to_income_ratio_30d", "ratio", 1, "money out over money in, last 30 days",
     "spent {value:.0%} of money received in the last 30 days"),
    ("spend_to_income_ratio_90d", "ratio", 1, "money out over money in, last 90 days",
     "spent {value:.0%} of money received in the last 90 days"),
    ("spend_to_declared_income_30d", "ratio", 1, "money out in the last 30 days over declared monthly income",
     "spent {value:.0%} of the declared monthly income in the last 30 days"),
    ("essential_to_income_ratio_90d", "ratio", 1, "essential spending over money received, last 90 days",
     "essentials took {value:.0%} of money received"),
    ("net_flow_30d", "currency", -1, "money in minus money out in the last 30 days",
     "money in minus money out was {value:,.0f} in the last 30 days"),
    ("net_flow_90d", "currency", -1, "money in minus money out in the last 90 days",
     "money in minus money out was {value:,.0f} in the last 90 days"),
    ("spend_daily_max_30d", "currency", 1, "largest single-day spend in the last 30 days",
     "the largest day's spending was {value:,.0f}"),
    ("spend_weekly_cv_90d", "ratio", 1, "variability of weekly spend (std / mean) over the last 12 weeks",
     "weekly spending varied by {value:.0%}"),
)


def _shares(sums: np.ndarray) -> np.ndarray:
    """Each category's share of the row total, NaN for a row with no spending."""
    total = sums.sum(axis=1, keepdims=True)
    return sums / np.where(total > 0, total, np.nan)


def _mix_shift(win: Window) -> np.ndarray:
    """Total-variation distance between the category mix of the last 30 days and of the 60 before."""
    recent = np.stack([tail(win[c], 30) for c in MIX_COLUMNS], axis=1)
    base = np.stack([head(win[c], win.days - 30) for c in MIX_COLUMNS], axis=1)
    return 0.5 * np.abs(_shares(recent) - _shares(base)).sum(axis=1)


def spending_features(win: Window, monthly_income: np.ndarray) -> dict[str, np.ndarray]:
    """Spending level, mix and burden features per customer, keyed by feature name."""
    base_days = win.days - 30
    t = {c: tail(win[c], 30) for c in ("outflow", "inflow", "essential_out", "discretionary_out", "utility_out",
                                       "debt_service_out")}
    h = {c: head(win[c], base_days) for c in ("outflow", "essential_out", "discretionary_out", "utility_out")}
    total = {c: win[c].sum(axis=1, dtype=np.float64) for c in ("outflow", "inflow", "essential_out",
                                                               "discretionary_out", "debt_service_out")}
    share_30 = ratio(t["essential_out"], t["essential_out"] + t["discretionary_out"])
    share_prev = ratio(h["essential_out"], h["essential_out"] + h["discretionary_out"])
    weeks = block_sums(win["outflow"], 7)
    return {
        "spend_total_30d": t["outflow"],
        "spend_total_90d": total["outflow"],
        "spend_total_30d_vs_prev60": rate_ratio(t["outflow"], 30, h["outflow"], base_days),
        "spend_essential_30d": t["essential_out"],
        "spend_essential_90d": total["essential_out"],
        "spend_essential_30d_vs_prev60": rate_ratio(t["essential_out"], 30, h["essential_out"], base_days),
        "spend_discretionary_30d": t["discretionary_out"],
        "spend_discretionary_90d": total["discretionary_out"],
        "spend_discretionary_30d_vs_prev60": rate_ratio(t["discretionary_out"], 30, h["discretionary_out"],
                                                        base_days),
        "spend_essential_share_30d": share_30,
        "spend_essential_share_90d": ratio(total["essential_out"], total["essential_out"] + total["discretionary_out"]),
        "spend_essential_share_change_30d": share_30 - share_prev,
        "spend_category_shift_30d_vs_prev60": _mix_shift(win),
        "spend_utility_30d": t["utility_out"],
        "spend_utility_30d_vs_prev60": rate_ratio(t["utility_out"], 30, h["utility_out"], base_days),
        "spend_debt_service_30d": t["debt_service_out"],
        "spend_debt_service_90d": total["debt_service_out"],
        "spend_to_income_ratio_30d": ratio(t["outflow"], t["inflow"]),
        "spend_to_income_ratio_90d": ratio(total["outflow"], total["inflow"]),
        "spend_to_declared_income_30d": ratio(t["outflow"], monthly_income),
        "essential_to_income_ratio_90d": ratio(total["essential_out"], total["inflow"]),
        "net_flow_30d": t["inflow"] - t["outflow"],
        "net_flow_90d": total["inflow"] - total["outflow"],
        "spend_daily_max_30d": win["outflow"][:, -30:].max(axis=1).astype(np.float64),
        "spend_weekly_cv_90d": cv(weeks),
    }
