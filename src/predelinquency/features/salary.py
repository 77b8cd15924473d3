"""Salary family: lateness against the usual pay day, missed salaries, income level, trend and volatility.

A pay cycle is one expected pay day (customers.salary_day, else the customer's own median salary day in
the window). A salary credit from LEAD_DAYS before to LAG_DAYS after that day belongs to the cycle; the
two spans add up to 28 days so consecutive cycles never share a credit. Cycles whose span starts before
the window are skipped (their credit may lie outside what we can see). A cycle with no credit yet counts
as late by the days elapsed since its pay day: at as_of that is all we know, and it is a warning.
"""

from __future__ import annotations

from datetime import timedelta

import numpy as np

from predelinquency.features.ops import (
    block_sums,
    cv,
    head,
    last_true,
    masked_median,
    nan_to_zero,
    rate_ratio,
    ratio,
    tail,
)
from predelinquency.features.window import Window

FAMILY = "salary"
LEAD_DAYS = 5   # employers pay early before weekends and holidays
LAG_DAYS = 23   # LEAD_DAYS + LAG_DAYS = 28, the shortest month, so cycles never overlap

# name, unit, risk direction, description, reason template
SPECS: tuple[tuple[str, str, int, str, str], ...] = (
    ("salary_delay_days_last", "days", 1, "days the latest salary came after the usual pay day (so far, if unpaid)",
     "salary arrived {value:.0f} days later than usual"),
    ("salary_delay_days_max_90d", "days", 1, "largest salary delay over the pay cycles in the last 90 days",
     "a salary was {value:.0f} days late in the last 90 days"),
    ("salary_delay_days_mean_90d", "days", 1, "average salary delay over the pay cycles in the last 90 days",
     "salaries were on average {value:.1f} days late in the last 90 days"),
    ("salary_delay_vs_own_days", "days", 1, "latest salary delay minus the customer's own earlier average delay",
     "the latest salary was {value:.0f} days later than this customer's usual timing"),
    ("salary_overdue_days", "days", 1, "days since the latest expected pay day with no salary received yet",
     "no salary received {value:.0f} days after the expected pay day"),
    ("salary_missed_count_90d", "count", 1, "complete pay cycles in the last 90 days with no salary credit",
     "{value:.0f} expected salaries did not arrive in the last 90 days"),
    ("salary_missed_last_flag", "flag", 1, "1 if the most recent complete pay cycle had no salary credit",
     "the last expected salary did not arrive"),
    ("salary_cycles_observed_90d", "count", 0, "expected pay days that could be checked in the last 90 days",
     "{value:.0f} pay days checked in the last 90 days"),
    ("salary_credit_days_90d", "count", -1, "days with a salary credit in the last 90 days",
     "salary was credited on only {value:.0f} days in the last 90 days"),
    ("salary_income_90d", "currency", -1, "total salary received in the last 90 days",
     "salary received in the last 90 days was {value:,.0f}"),
    ("salary_income_30d", "currency", -1, "total salary received in the last 30 days",
     "salary received in the last 30 days was {value:,.0f}"),
    ("salary_last_amount", "currency", -1, "amount of the most recent salary credit",
     "the last salary credit was {value:,.0f}"),
    ("salary_last_vs_prev_ratio", "ratio", -1, "latest pay cycle's salary over the average of earlier cycles",
     "the latest salary was {value:.0%} of the earlier ones"),
    ("salary_income_cv_90d", "ratio", 1, "variability of salary per pay cycle (std / mean) in the last 90 days",
     "salary amounts varied by {value:.0%} between pay cycles"),
    ("salary_to_declared_income_ratio", "ratio", -1, "average salary per pay cycle over declared monthly income",
     "salary received is {value:.0%} of the declared monthly income"),
    ("salary_shortfall_vs_declared", "currency", 1, "declared monthly income minus average salary per pay cycle",
     "salary is {value:,.0f} a month below the declared income"),
    ("salary_days_since_last", "days", 1, "days since the most recent salary credit",
     "the last salary credit was {value:.0f} days ago"),
    ("has_salary_flag", "flag", -1, "1 if any salary was credited in the last 90 days",
     "no salary credit in the last 90 days"),
    ("declared_monthly_income", "currency", -1, "monthly income declared by the customer",
     "declared monthly income is {value:,.0f}"),
    ("income_total_90d", "currency", -1, "all money received (salary, transfers, loans) in the last 90 days",
     "total money received in the last 90 days was {value:,.0f}"),
    ("income_total_30d_vs_prev60", "ratio", 0, "daily money received (loans too), last 30 days over the 60 before",
     "money received in the last 30 days was {value:.0%} of the usual rate"),
    ("income_monthly_cv_90d", "ratio", 1, "variability of money received across the three 30-day blocks",
     "money received varied by {value:.0%} from month to month"),
)


def usual_pay_day(win: Window, salary_day: np.ndarray) -> np.ndarray:
    """Day of month each customer is normally paid: salary_day, else own median salary day; NaN if neither."""
    own = masked_median(win.day_of_month.astype(np.float64), win["salary_in"] > 0)
    # salary_day is 1..28 in the schema; a 29th–31st habit maps to 28 so every month has the day
    own = np.clip(np.round(own), 1, 28)
    return np.where(np.isnan(salary_day), own, salary_day)


def days_to_pay_day(win: Window, pay_day: np.ndarray) -> np.ndarray:
    """[n, days] days from each window day to the next expected pay day (0 on the pay day), NaN if unknown."""
    # built as [days, customers] and transposed, to match the panel's column-major layout
    diff = win.day_of_month[:, None] - pay_day[None, :].astype(np.float32)
    # diff lies in (-month length, 0] or (0, 31): one conditional add replaces a (slow) float modulo
    return np.where(diff <= 0, -diff, win.days_in_month[:, None] - diff).T


def _cycles(win: Window, pay_day: np.ndarray) -> dict[str, np.ndarray]:
    """Per pay cycle (axis 0, oldest first) and customer: validity, completeness, arrival, delay, amount."""
    s = win["salary_in"]
    n, w = s.shape
    start = np.datetime64(win.start, "D")
    months = np.arange(start.astype("datetime64[M]"),
                       np.datetime64(win.as_of - timedelta(days=1), "M") + 1, dtype="datetime64[M]")
    first_pos = (months.astype("datetime64[D]") - start).astype(np.int64)
    expected = first_pos[:, None] + pay_day[None, :] - 1                   # [cycles, n]
    valid = (expected >= LEAD_DAYS) & (expected < w)                      # NaN pay days compare False
    lo = np.where(valid, expected - LEAD_DAYS, 0).astype(np.int64)
    idx = lo[:, :, None] + np.arange(LEAD_DAYS + LAG_DAYS)                # [cycles, n, span]
    vals = np.where(idx < w, s[np.arange(n)[None, :, None], np.minimum(idx, w - 1)], 0.0)
    got = vals > 0
    arrived = valid & got.any(axis=2)
    # unpaid: late by the days elapsed so far, at most the cycle's length (after that it is "missed")
    delay = np.where(arrived, lo + got.argmax(axis=2) - expected, np.minimum(w - expected, LAG_DAYS))
    return {
        "valid": valid,
        "complete": valid & (expected + LAG_DAYS <= w),
        "arrived": arrived,
        "delay": np.where(valid, delay, np.nan),
        "elapsed": np.where(valid, w - expected, np.nan),      # days from the expected pay day to as_of
        "amount": np.where(valid, vals.sum(axis=2), np.nan),
    }


def _last_where(values: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """values[k, i] at the last cycle k with mask[k, i], NaN where there is none."""
    k = mask.shape[0] - 1 - mask[::-1].argmax(axis=0)
    return np.where(mask.any(axis=0), values[k, np.arange(mask.shape[1])], np.nan)


def _mean_where(values: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Mean of values over cycles where mask holds, NaN where none does."""
    return ratio(np.where(mask, values, 0.0).sum(axis=0), mask.sum(axis=0))


def salary_features(win: Window, salary_day: np.ndarray, pay_day: np.ndarray,
                    monthly_income: np.ndarray) -> dict[str, np.ndarray]:
    """Salary timing and income features per customer, keyed by feature name."""
    s, inflow = win["salary_in"], win["inflow"]
    c = _cycles(win, pay_day)
    valid, arrived, complete, delay, amount = c["valid"], c["arrived"], c["complete"], c["delay"], c["amount"]
    any_cycle = valid.any(axis=0)
    last_k = valid.shape[0] - 1 - valid[::-1].argmax(axis=0)
    earlier = valid & (np.arange(valid.shape[0])[:, None] < last_k[None, :])
    delay_last = _last_where(delay, valid)
    last_arrived = _last_where(arrived.astype(np.float64), valid)
    # cycles that are over (or paid): a missed one counts as zero salary for the average
    settled = complete | arrived
    avg_cycle = _mean_where(np.where(arrived, amount, 0.0), settled)
    n_arrived = arrived.sum(axis=0)
    mean_arrived = _mean_where(amount, arrived)
    std_arrived = np.sqrt(_mean_where((nan_to_zero(amount) - mean_arrived) ** 2, arrived))
    # income trend: the latest paid cycle against the paid cycles before it
    last_paid_k = arrived.shape[0] - 1 - arrived[::-1].argmax(axis=0)
    before_last_paid = arrived & (np.arange(valid.shape[0])[:, None] < last_paid_k[None, :])
    salary_days = s > 0
    last_idx = last_true(salary_days)
    blocks = block_sums(inflow, 30)
    return {
        "salary_delay_days_last": delay_last,
        "salary_delay_days_max_90d": np.where(any_cycle, np.where(valid, delay, -np.inf).max(axis=0), np.nan),
        "salary_delay_days_mean_90d": _mean_where(nan_to_zero(delay), valid),
        "salary_delay_vs_own_days": delay_last - _mean_where(nan_to_zero(delay), earlier & arrived),
        "salary_overdue_days": np.where(last_arrived == 1, 0.0, _last_where(c["elapsed"], valid)),
        "salary_missed_count_90d": np.where(any_cycle, (complete & ~arrived).sum(axis=0), np.nan),
        "salary_missed_last_flag": _last_where((~arrived).astype(np.float64), complete),
        "salary_cycles_observed_90d": valid.sum(axis=0).astype(np.float64),
        "salary_credit_days_90d": salary_days.sum(axis=1).astype(np.float64),
        "salary_income_90d": s.sum(axis=1, dtype=np.float64),
        "salary_income_30d": tail(s, 30),
        "salary_last_amount": np.where(last_idx >= 0, s[np.arange(s.shape[0]), np.maximum(last_idx, 0)], np.nan),
        "salary_last_vs_prev_ratio": ratio(_last_where(amount, arrived), _mean_where(amount, before_last_paid)),
        "salary_income_cv_90d": np.where(n_arrived >= 2, ratio(std_arrived, mean_arrived), np.nan),
        "salary_to_declared_income_ratio": ratio(avg_cycle, monthly_income),
        "salary_shortfall_vs_declared": monthly_income - avg_cycle,
        "salary_days_since_last": np.where(last_idx >= 0, s.shape[1] - last_idx, np.nan),
        "has_salary_flag": salary_days.any(axis=1).astype(np.float64),
        "declared_monthly_income": monthly_income.astype(np.float64),
        "income_total_90d": inflow.sum(axis=1, dtype=np.float64),
        "income_total_30d_vs_prev60": rate_ratio(tail(inflow, 30), 30, head(inflow, 60), 60),
        "income_monthly_cv_90d": cv(blocks),
    }
