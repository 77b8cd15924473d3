"""Balance and savings family: level, trend, time below zero, drawdowns, and the balance just before pay day."""

from __future__ import annotations

import numpy as np

from predelinquency.features.ops import drawdowns, last_true, ratio, slope, tail
from predelinquency.features.window import Window

FAMILY = "balance"

# name, unit, risk direction, description, reason template
SPECS: tuple[tuple[str, str, int, str, str], ...] = (
    ("balance_last", "currency", -1, "current-account balance at the end of the day before as_of",
     "the current-account balance is {value:,.0f}"),
    ("balance_mean_30d", "currency", -1, "average end-of-day balance over the last 30 days",
     "the balance averaged {value:,.0f} over the last 30 days"),
    ("balance_mean_90d", "currency", -1, "average end-of-day balance over the last 90 days",
     "the balance averaged {value:,.0f} over the last 90 days"),
    ("balance_min_30d", "currency", -1, "lowest end-of-day balance in the last 30 days",
     "the balance fell to {value:,.0f} in the last 30 days"),
    ("balance_min_90d", "currency", -1, "lowest end-of-day balance in the last 90 days",
     "the balance fell to {value:,.0f} in the last 90 days"),
    ("balance_max_90d", "currency", -1, "highest end-of-day balance in the last 90 days",
     "the balance peaked at only {value:,.0f} in the last 90 days"),
    ("balance_std_90d", "currency", 0, "day-to-day spread (standard deviation) of the balance over 90 days",
     "the balance swung by {value:,.0f} (standard deviation) over 90 days"),
    ("balance_slope_30d", "currency", -1, "balance trend over the last 30 days, per day (least squares)",
     "the balance changed by {value:,.0f} a day over the last 30 days"),
    ("balance_slope_90d", "currency", -1, "balance trend over the last 90 days, per day (least squares)",
     "the balance changed by {value:,.0f} a day over the last 90 days"),
    ("balance_mean_30d_minus_prev60", "currency", -1, "average balance of the last 30 days minus the 60 before",
     "the average balance moved by {value:,.0f} against the previous two months"),
    ("balance_days_below_zero_7d", "days", 1, "days ending below zero in the last 7 days",
     "the account was overdrawn on {value:.0f} of the last 7 days"),
    ("balance_days_below_zero_30d", "days", 1, "days ending below zero in the last 30 days",
     "the account was overdrawn on {value:.0f} of the last 30 days"),
    ("balance_days_below_zero_90d", "days", 1, "days ending below zero in the last 90 days",
     "the account was overdrawn on {value:.0f} of the last 90 days"),
    ("balance_negative_streak_days", "days", 1, "consecutive days below zero up to as_of",
     "the account has been overdrawn for {value:.0f} days in a row"),
    ("balance_below_zero_flag", "flag", 1, "1 if the latest end-of-day balance is below zero",
     "the account is currently overdrawn"),
    ("balance_max_drawdown_90d", "currency", 0, "largest fall of the balance from a peak in the last 90 days",
     "the balance fell {value:,.0f} from a peak in the last 90 days"),
    ("balance_drawdown_from_peak", "currency", 1, "90-day peak balance minus the latest balance",
     "the balance is {value:,.0f} below its 90-day peak"),
    ("balance_before_payday_last", "currency", -1, "balance at the end of the day before the latest expected pay day",
     "the balance just before the last pay day was {value:,.0f}"),
    ("balance_before_payday_mean_90d", "currency", -1, "average balance on the days before expected pay days",
     "the balance before pay days averaged {value:,.0f}"),
    ("savings_balance_last", "currency", -1, "savings balance at the end of the day before as_of",
     "savings stand at {value:,.0f}"),
    ("savings_balance_mean_90d", "currency", -1, "average savings balance over the last 90 days",
     "savings averaged {value:,.0f} over the last 90 days"),
    ("savings_change_30d", "currency", -1, "change in savings balance over the last 30 days",
     "savings changed by {value:,.0f} in the last 30 days"),
    ("savings_change_90d", "currency", -1, "change in savings balance over the last 90 days",
     "savings changed by {value:,.0f} in the last 90 days"),
    ("savings_slope_90d", "currency", -1, "savings trend over the last 90 days, per day (least squares)",
     "savings changed by {value:,.0f} a day over the last 90 days"),
    ("savings_max_drawdown_90d", "currency", 1, "largest fall of savings from a peak in the last 90 days",
     "savings fell {value:,.0f} from a peak in the last 90 days"),
    ("savings_drawdown_ratio_90d", "ratio", 1, "largest fall of savings as a share of the peak before it",
     "savings were drawn down by {value:.0%} in the last 90 days"),
    ("savings_net_transfer_30d", "currency", -1, "net money moved into savings in the last 30 days",
     "net transfers to savings were {value:,.0f} in the last 30 days"),
    ("savings_withdrawal_days_30d", "days", 1, "days with money taken out of savings in the last 30 days",
     "money was taken from savings on {value:.0f} of the last 30 days"),
    ("liquidity_last", "currency", -1, "current-account plus savings balance at the day before as_of",
     "current account plus savings stand at {value:,.0f}"),
)


def _fill_leading(x: np.ndarray) -> np.ndarray:
    """Levels with a customer's leading gap filled by their first level seen in the window (still before as_of)."""
    if not np.isnan(x[:, 0]).any():
        return x
    first = np.argmax(~np.isnan(x), axis=1)
    firsts = x[np.arange(x.shape[0]), first]
    return np.where(np.isnan(x), firsts[:, None], x)


def balance_features(win: Window, days_to_payday: np.ndarray) -> dict[str, np.ndarray]:
    """Balance level, trend, overdraft and savings features per customer, keyed by feature name."""
    b = _fill_leading(win["balance"]).astype(np.float64)
    sv = _fill_leading(win["savings_balance"]).astype(np.float64)
    sav_out = win["savings_out"]
    bal_drawdown, _ = drawdowns(b)
    sav_drawdown, sav_drawdown_ratio = drawdowns(sv)
    neg = b < 0
    n = b.shape[0]
    # the last non-negative day ends the current overdraft streak
    not_neg_last = last_true(~neg)
    streak = np.where(np.isnan(b[:, -1]), np.nan, b.shape[1] - 1 - not_neg_last)
    # the day before a pay day is the end of the day whose next day is the pay day
    before_payday = days_to_payday == 1
    n_before = before_payday.sum(axis=1)
    last_before = last_true(before_payday)
    no_data = np.isnan(b[:, -1])
    out = {
        "balance_last": b[:, -1],
        "balance_mean_30d": b[:, -30:].mean(axis=1),
        "balance_mean_90d": b.mean(axis=1),
        "balance_min_30d": b[:, -30:].min(axis=1),
        "balance_min_90d": b.min(axis=1),
        "balance_max_90d": b.max(axis=1),
        "balance_std_90d": b.std(axis=1),
        "balance_slope_30d": slope(b[:, -30:]),
        "balance_slope_90d": slope(b),
        "balance_mean_30d_minus_prev60": b[:, -30:].mean(axis=1) - b[:, :-30].mean(axis=1),
        "balance_days_below_zero_7d": tail(neg, 7),
        "balance_days_below_zero_30d": tail(neg, 30),
        "balance_days_below_zero_90d": neg.sum(axis=1, dtype=np.float64),
        "balance_negative_streak_days": streak.astype(np.float64),
        "balance_below_zero_flag": neg[:, -1].astype(np.float64),
        "balance_max_drawdown_90d": bal_drawdown,
        "balance_drawdown_from_peak": b.max(axis=1) - b[:, -1],
        "balance_before_payday_last": np.where(last_before >= 0, b[np.arange(n), np.maximum(last_before, 0)], np.nan),
        "balance_before_payday_mean_90d": ratio(np.where(before_payday, b, 0.0).sum(axis=1), n_before),
        "savings_balance_last": sv[:, -1],
        "savings_balance_mean_90d": sv.mean(axis=1),
        "savings_change_30d": sv[:, -1] - sv[:, -31],
        "savings_change_90d": sv[:, -1] - sv[:, 0],
        "savings_slope_90d": slope(sv),
        "savings_max_drawdown_90d": sav_drawdown,
        "savings_drawdown_ratio_90d": sav_drawdown_ratio,
        "savings_net_transfer_30d": tail(sav_out, 30),
        "savings_withdrawal_days_30d": tail(sav_out < 0, 30),
        "liquidity_last": b[:, -1] + sv[:, -1],
    }
    # a customer with no balance row at all has no balance features (not zero days overdrawn)
    if no_data.any():
        for name in ("balance_days_below_zero_7d", "balance_days_below_zero_30d", "balance_days_below_zero_90d",
                     "balance_below_zero_flag", "balance_negative_streak_days"):
            out[name] = np.where(no_data, np.nan, out[name])
    return out
