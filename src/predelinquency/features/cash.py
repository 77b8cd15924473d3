"""Cash family: ATM withdrawal spikes against the customer's own baseline, and cash hoarding before pay day."""

from __future__ import annotations

import numpy as np

from predelinquency.features.ops import head, rate_ratio, ratio, tail
from predelinquency.features.window import Window

FAMILY = "cash"
PRE_PAYDAY_DAYS = 5      # "the days before pay day": 1 to 5 days before the expected salary
SPIKE_MULTIPLE = 2.0     # a withdrawal day this many times the usual ATM-day amount is a spike

# name, unit, risk direction, description, reason template
SPECS: tuple[tuple[str, str, int, str, str], ...] = (
    ("atm_out_7d", "currency", 1, "cash withdrawn at ATMs in the last 7 days",
     "{value:,.0f} withdrawn in cash in the last 7 days"),
    ("atm_out_14d", "currency", 1, "cash withdrawn at ATMs in the last 14 days",
     "{value:,.0f} withdrawn in cash in the last 14 days"),
    ("atm_out_30d", "currency", 1, "cash withdrawn at ATMs in the last 30 days",
     "{value:,.0f} withdrawn in cash in the last 30 days"),
    ("atm_out_90d", "currency", 1, "cash withdrawn at ATMs in the last 90 days",
     "{value:,.0f} withdrawn in cash in the last 90 days"),
    ("atm_count_30d", "count", 1, "ATM withdrawals in the last 30 days",
     "{value:.0f} ATM withdrawals in the last 30 days"),
    ("atm_count_90d", "count", 1, "ATM withdrawals in the last 90 days",
     "{value:.0f} ATM withdrawals in the last 90 days"),
    ("atm_out_14d_vs_90d", "ratio", 1, "daily cash withdrawn in the last 14 days over the 90-day daily average",
     "cash withdrawals in the last 14 days ran at {value:.0%} of the 90-day rate"),
    ("atm_out_30d_vs_90d", "ratio", 1, "daily cash withdrawn in the last 30 days over the 90-day daily average",
     "cash withdrawals in the last 30 days ran at {value:.0%} of the 90-day rate"),
    ("atm_out_30d_vs_prev60", "ratio", 1, "daily cash withdrawn in the last 30 days over the 60 days before",
     "cash withdrawals ran at {value:.0%} of the usual rate"),
    ("atm_count_30d_vs_prev60", "ratio", 1, "daily ATM withdrawals in the last 30 days over the 60 days before",
     "ATM visits ran at {value:.0%} of the usual rate"),
    ("atm_out_max_day_30d", "currency", 1, "most cash withdrawn on one day in the last 30 days",
     "{value:,.0f} was withdrawn in cash on a single day"),
    ("atm_avg_withdrawal_30d", "currency", 1, "average amount per ATM withdrawal in the last 30 days",
     "ATM withdrawals averaged {value:,.0f} each"),
    ("atm_share_of_spend_30d", "ratio", 1, "cash withdrawals as a share of all money out, last 30 days",
     "{value:.0%} of spending was taken in cash"),
    ("atm_active_days_30d", "days", 1, "days with an ATM withdrawal in the last 30 days",
     "cash was withdrawn on {value:.0f} of the last 30 days"),
    ("atm_spike_days_30d", "days", 1, "days in the last 30 with over twice the usual ATM-day amount (60 days before)",
     "{value:.0f} days of unusually large cash withdrawals"),
    ("cash_before_payday_90d", "currency", 1, "cash withdrawn in the 5 days before expected pay days",
     "{value:,.0f} withdrawn in cash in the days before pay day"),
    ("cash_before_payday_share_90d", "ratio", 1, "share of 90-day cash withdrawals made in the 5 days before pay day",
     "{value:.0%} of cash withdrawals were made just before pay day"),
    ("cash_before_payday_vs_other_ratio", "ratio", 1, "daily cash withdrawn before pay day over other days",
     "cash withdrawals before pay day ran at {value:.0%} of other days"),
    ("atm_out_to_declared_income_30d", "ratio", 1, "cash withdrawn in the last 30 days over declared monthly income",
     "cash withdrawals were {value:.0%} of the declared monthly income"),
)


def cash_features(win: Window, days_to_payday: np.ndarray, monthly_income: np.ndarray) -> dict[str, np.ndarray]:
    """ATM level, spike and pre-pay-day cash features per customer, keyed by feature name."""
    atm, cnt, days = win["atm_out"], win["atm_count"], win.days
    base_days = days - 30
    a30, a90, c30 = tail(atm, 30), atm.sum(axis=1, dtype=np.float64), tail(cnt, 30)
    base_atm = atm[:, :base_days]
    usual_day = ratio(base_atm.sum(axis=1, dtype=np.float64), (base_atm > 0).sum(axis=1))
    spikes = (atm[:, -30:] > SPIKE_MULTIPLE * usual_day[:, None]).sum(axis=1).astype(np.float64)
    before = (days_to_payday >= 1) & (days_to_payday <= PRE_PAYDAY_DAYS)
    n_before = before.sum(axis=1)
    pre = np.where(before, atm, 0.0).sum(axis=1)
    return {
        "atm_out_7d": tail(atm, 7),
        "atm_out_14d": tail(atm, 14),
        "atm_out_30d": a30,
        "atm_out_90d": a90,
        "atm_count_30d": c30,
        "atm_count_90d": cnt.sum(axis=1, dtype=np.float64),
        "atm_out_14d_vs_90d": rate_ratio(tail(atm, 14), 14, a90, days),
        "atm_out_30d_vs_90d": rate_ratio(a30, 30, a90, days),
        "atm_out_30d_vs_prev60": rate_ratio(a30, 30, head(atm, base_days), base_days),
        "atm_count_30d_vs_prev60": rate_ratio(c30, 30, head(cnt, base_days), base_days),
        "atm_out_max_day_30d": atm[:, -30:].max(axis=1).astype(np.float64),
        "atm_avg_withdrawal_30d": ratio(a30, c30),
        "atm_share_of_spend_30d": ratio(a30, tail(win["outflow"], 30)),
        "atm_active_days_30d": tail(atm > 0, 30),
        # without ATM use in the baseline there is no "usual" to spike against
        "atm_spike_days_30d": np.where(np.isnan(usual_day), np.nan, spikes),
        "cash_before_payday_90d": np.where(n_before > 0, pre, np.nan),
        "cash_before_payday_share_90d": np.where(n_before > 0, ratio(pre, a90), np.nan),
        "cash_before_payday_vs_other_ratio": np.where(
            n_before > 0, rate_ratio(pre, np.maximum(n_before, 1), a90 - pre, np.maximum(days - n_before, 1)), np.nan),
        "atm_out_to_declared_income_30d": ratio(a30, monthly_income),
    }
