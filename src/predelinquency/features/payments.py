"""Payments family: instalment lateness and misses as seen at as_of, past-due now, failed debits, utility timing.

The payments table holds final outcomes (status, days_late, paid_date may all lie after as_of), so every
status here is re-derived from dates as they stood at as_of: a payment due on or after as_of does not
exist yet, and one paid on or after as_of is still unpaid and past due by (as_of - due_date) days.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from predelinquency.domain.vocabulary import CREDIT_PRODUCTS
from predelinquency.features.ops import date_days, days_since, epoch_day, head, masked_median, nan_to_zero, ratio, tail
from predelinquency.features.window import Window, index_of
from predelinquency.table import Table, column

FAMILY = "payments"

# name, unit, risk direction, description, reason template
SPECS: tuple[tuple[str, str, int, str, str], ...] = (
    ("payments_due_count_90d", "count", 0, "instalments that fell due in the last 90 days",
     "{value:.0f} instalments fell due in the last 90 days"),
    ("payments_on_time_rate_90d", "ratio", -1, "share of instalments due in the last 90 days paid by the due date",
     "only {value:.0%} of instalments in the last 90 days were paid on time"),
    ("late_payments_count_90d", "count", 1, "instalments due in the last 90 days paid late but within grace",
     "{value:.0f} instalments were paid late in the last 90 days"),
    ("missed_instalments_30d", "count", 1, "instalments due in the last 30 days not paid within the grace period",
     "{value:.0f} instalments were missed in the last 30 days"),
    ("missed_instalments_60d", "count", 1, "instalments due in the last 60 days not paid within the grace period",
     "{value:.0f} instalments were missed in the last 60 days"),
    ("missed_instalments_90d", "count", 1, "instalments due in the last 90 days not paid within the grace period",
     "{value:.0f} instalments were missed in the last 90 days"),
    ("payment_days_late_mean_90d", "days", 1, "average days late of instalments due in the last 90 days",
     "instalments were paid {value:.1f} days late on average"),
    ("payment_days_late_max_90d", "days", 1, "most days late of any instalment due in the last 90 days",
     "an instalment was {value:.0f} days late in the last 90 days"),
    ("payment_days_late_last", "days", 1, "days late of the most recently due instalment",
     "the latest instalment was {value:.0f} days late"),
    ("days_since_missed_instalment", "days", -1, "days since the due date of the most recent missed instalment",
     "an instalment was missed {value:.0f} days ago"),
    ("past_due_flag", "flag", 1, "1 if an instalment due before as_of is still unpaid",
     "an instalment is currently past due"),
    ("past_due_count", "count", 1, "instalments due before as_of that are still unpaid",
     "{value:.0f} instalments are currently past due"),
    ("past_due_days_max", "days", 1, "days the oldest unpaid instalment is past its due date",
     "an instalment is {value:.0f} days past due"),
    ("past_due_amount", "currency", 1, "amount of instalments due before as_of that are still unpaid",
     "{value:,.0f} is currently past due"),
    ("payment_shortfall_90d", "currency", 1, "amount due in the last 90 days not (yet) paid",
     "{value:,.0f} of the amounts due in the last 90 days is unpaid"),
    ("amount_paid_ratio_90d", "ratio", -1, "amount paid over amount due for instalments due in the last 90 days",
     "only {value:.0%} of the amounts due in the last 90 days were paid"),
    ("failed_debits_7d", "count", 1, "auto-debits that failed in the last 7 days",
     "{value:.0f} auto-debits failed in the last 7 days"),
    ("failed_debits_30d", "count", 1, "auto-debits that failed in the last 30 days",
     "{value:.0f} auto-debits failed in the last 30 days"),
    ("failed_debits_90d", "count", 1, "auto-debits that failed in the last 90 days",
     "{value:.0f} auto-debits failed in the last 90 days"),
    ("failed_debit_days_30d", "days", 1, "days with at least one failed auto-debit in the last 30 days",
     "auto-debits failed on {value:.0f} days in the last 30 days"),
    ("failed_debits_30d_vs_prev60", "count", 1, "failed debits in the last 30 days minus the 30-day average before",
     "failed auto-debits in the last 30 days were {value:+.1f} against a usual month"),
    ("days_since_failed_debit", "days", -1, "days since the most recent failed auto-debit",
     "an auto-debit failed {value:.0f} days ago"),
    ("utility_day_drift_days", "days", 1, "day of month of the latest utility payment minus the customer's usual",
     "utilities were paid {value:.0f} days later in the month than usual"),
    ("utility_days_since_last", "days", 1, "days since the most recent utility payment",
     "the last utility payment was {value:.0f} days ago"),
    ("utility_missing_flag_30d", "flag", 1, "1 if utilities were paid in the 60 days before but not in the last 30",
     "no utility bill was paid in the last 30 days"),
    ("utility_payment_days_90d", "count", 0, "days with a utility payment in the last 90 days",
     "utilities were paid on {value:.0f} days in the last 90 days"),
    ("credit_accounts_count", "count", 0, "credit cards and personal loans open before as_of",
     "the customer holds {value:.0f} credit products"),
    ("instalment_monthly_total", "currency", 1, "contractual monthly instalments across credit products",
     "monthly instalments total {value:,.0f}"),
    ("newest_credit_account_age_days", "days", -1, "days since the most recently opened credit product",
     "a credit product was opened {value:.0f} days ago"),
)


def is_credit(product_type: pl.Series | np.ndarray) -> np.ndarray:
    """True for credit products (cards, loans)."""
    if isinstance(product_type, pl.Series) and len(product_type) > 1000:
        return product_type.is_in(CREDIT_PRODUCTS).to_numpy()
    # a polars query has a fixed cost far above comparing a few strings in numpy
    values = product_type if isinstance(product_type, np.ndarray) else product_type.to_numpy()
    return (values == CREDIT_PRODUCTS[0]) | (values == CREDIT_PRODUCTS[1])


def _reduce_by_customer(n: int, row: np.ndarray, values: np.ndarray, ufunc: np.ufunc) -> np.ndarray:
    """[n, k] of ufunc (add or maximum) over each customer's rows of values [m, k]; -inf / 0 where none."""
    # one sort and one reduceat for all k columns: a handful of numpy calls whatever k is
    out = np.full((n, values.shape[1]), -np.inf if ufunc is np.maximum else 0.0)
    if n == 1 and len(row):  # one customer, as on demand: every row is theirs (callers drop the others)
        out[0] = ufunc.reduce(values, axis=0)
    elif len(row):
        order = np.argsort(row, kind="stable")
        r = row[order]
        starts = np.flatnonzero(np.concatenate(([True], r[1:] != r[:-1])))
        out[r[starts]] = ufunc.reduceat(values[order], starts, axis=0)
    return out


_LATE_SCALE = 1_000_000  # due * scale + lateness: the max picks the latest due date, then its worst lateness


def _instalments(win: Window, payments: Table, grace_days: int) -> dict[str, np.ndarray]:
    """Lateness, misses and past-due amounts of instalments as they stood at as_of, per customer."""
    n, a = win.n_customers, epoch_day(win.as_of)
    # Series.to_numpy, not select/cast: a polars query's fixed cost outweighs one customer's whole feature work
    row = index_of(win.customer_ids, column(payments, "customer_id").astype(np.int64))
    due = date_days(column(payments, "due_date"))
    visible = (row >= 0) & (due < a)            # due on or after as_of: not an obligation yet
    row, due = row[visible], due[visible]
    paid = date_days(column(payments, "paid_date"))[visible]          # null: NULL_DAY, never before as_of
    amount_due = column(payments, "amount_due").astype(np.float64)[visible]
    settled = paid < a                          # paid on or after as_of: unpaid as seen at as_of
    amount_paid = np.where(settled, nan_to_zero(column(payments, "amount_paid").astype(np.float64)[visible]),
                           0.0)
    age = a - due
    lateness = np.where(settled, np.maximum(paid - due, 0), age)
    missed = lateness > grace_days
    in90 = age <= win.days
    open_ = ~settled
    (count90, on_time, late, missed30, missed60, missed90, late_days, n_open, open_amount, shortfall, paid90,
     due90) = _reduce_by_customer(n, row, np.column_stack([
        in90, in90 & settled & (paid <= due), in90 & settled & (lateness > 0) & ~missed,
        missed & (age <= 30), missed & (age <= 60), missed & in90, np.where(in90, lateness, 0), open_,
        np.where(open_, amount_due, 0.0), np.where(in90, np.maximum(amount_due - amount_paid, 0), 0),
        np.where(in90, amount_paid, 0), np.where(in90, amount_due, 0),
    ]).astype(np.float64), np.add).T
    max_late90, max_open_age, newest_missed, latest = _reduce_by_customer(n, row, np.column_stack([
        np.where(in90, lateness, -np.inf), np.where(open_, age, -np.inf), np.where(missed, due, -np.inf),
        due.astype(np.float64) * _LATE_SCALE + lateness,
    ]), np.maximum).T
    return {
        "payments_due_count_90d": count90,
        "payments_on_time_rate_90d": ratio(on_time, count90),
        "late_payments_count_90d": late,
        "missed_instalments_30d": missed30,
        "missed_instalments_60d": missed60,
        "missed_instalments_90d": missed90,
        "payment_days_late_mean_90d": ratio(late_days, count90),
        "payment_days_late_max_90d": np.where(max_late90 == -np.inf, np.nan, max_late90),
        "payment_days_late_last": np.where(latest == -np.inf, np.nan,
                                           np.mod(np.where(latest == -np.inf, 0, latest), _LATE_SCALE)),
        "days_since_missed_instalment": np.where(newest_missed == -np.inf, np.nan, a - newest_missed),
        "past_due_flag": (n_open > 0).astype(np.float64),
        "past_due_count": n_open,
        "past_due_days_max": np.where(max_open_age == -np.inf, 0.0, max_open_age),
        "past_due_amount": open_amount,
        "payment_shortfall_90d": shortfall,
        "amount_paid_ratio_90d": ratio(paid90, due90),
    }


def _utilities(win: Window) -> dict[str, np.ndarray]:
    """Utility-bill timing against the customer's usual day of the month, per customer."""
    paid = win["utility_out"] > 0
    base_days = win.days - 30
    usual = masked_median(win.day_of_month[:base_days].astype(np.float64), paid[:, :base_days])
    recent = paid[:, -30:]
    last_recent = recent.shape[1] - 1 - recent[:, ::-1].argmax(axis=1)
    last_dom = np.where(recent.any(axis=1), win.day_of_month[-30:][last_recent], np.nan)
    # the calendar wraps: paying on the 2nd instead of the 28th is 4 days late, not 26 days early
    drift = np.mod(last_dom - usual + 15, 30) - 15
    had_before = paid[:, :base_days].any(axis=1)
    return {
        "utility_day_drift_days": drift,
        "utility_days_since_last": days_since(paid),
        "utility_missing_flag_30d": (had_before & ~recent.any(axis=1)).astype(np.float64),
        "utility_payment_days_90d": paid.sum(axis=1, dtype=np.float64),
    }


def _accounts(win: Window, accounts: Table) -> dict[str, np.ndarray]:
    """Credit products held at as_of and their contractual instalments, per customer."""
    n, a = win.n_customers, epoch_day(win.as_of)
    row = index_of(win.customer_ids, column(accounts, "customer_id").astype(np.int64))
    opened = date_days(column(accounts, "opened_on"))
    # a product opened on or after as_of did not exist yet
    keep = (row >= 0) & (opened < a) & is_credit(column(accounts, "product_type"))
    row, opened = row[keep], opened[keep]
    instalment = nan_to_zero(column(accounts, "monthly_instalment").astype(np.float64)[keep])
    count, instalments = _reduce_by_customer(n, row, np.column_stack([np.ones(len(row)), instalment]), np.add).T
    newest = _reduce_by_customer(n, row, opened[:, None].astype(np.float64), np.maximum)[:, 0]
    return {
        "credit_accounts_count": count,
        "instalment_monthly_total": instalments,
        "newest_credit_account_age_days": np.where(newest == -np.inf, np.nan, a - newest),
    }


def payment_features(win: Window, payments: Table, accounts: Table,
                     grace_days: int) -> dict[str, np.ndarray]:
    """Instalment, past-due, failed-debit, utility and credit-product features per customer, keyed by name."""
    failed = win["failed_debits"]
    f30, prev = tail(failed, 30), head(failed, win.days - 30)
    out = _instalments(win, payments, grace_days)
    out |= {
        "failed_debits_7d": tail(failed, 7),
        "failed_debits_30d": f30,
        "failed_debits_90d": failed.sum(axis=1, dtype=np.float64),
        "failed_debit_days_30d": tail(failed > 0, 30),
        "failed_debits_30d_vs_prev60": f30 - prev * 30 / (win.days - 30),
        "days_since_failed_debit": days_since(failed > 0),
    }
    out |= _utilities(win)
    out |= _accounts(win, accounts)
    return out
