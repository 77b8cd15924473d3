"""Polars frames of a simulated chunk's small tables (customers, accounts, payments): the columns of
sql/001, ready for CSV COPY."""

from __future__ import annotations

import numpy as np
import polars as pl

from predelinquency.simulate.chunk import Chunk
from predelinquency.simulate.customers import (
    CARD,
    CONTRACT,
    CURRENT,
    EMPLOYMENT,
    FIRST_NAMES,
    LAST_NAMES,
    LOAN,
    REGIONS,
    RETIRED,
    SALARIED,
    SAVINGS,
    SEGMENTS,
)
from predelinquency.simulate.payments import LATE, PAID, STATUSES
from predelinquency.simulate.timeline import Timeline

PRODUCTS = {CURRENT: "current", SAVINGS: "savings", CARD: "credit_card", LOAN: "personal_loan"}
# loans amortise: roughly this share of each instalment paid repays principal
_PRINCIPAL_SHARE = 0.8


def _enum(values: tuple[str, ...], codes: np.ndarray) -> pl.Series:
    """Strings for integer codes, as a Polars Enum (cheap to build and to write as CSV)."""
    return pl.Series(values, dtype=pl.Enum(values)).gather(codes.astype(np.uint32))


def _optional(values: np.ndarray | None, rows: np.ndarray, scale: int, dtype: pl.DataType) -> pl.Series:
    """values[rows] / scale, or all nulls when the product has no such column."""
    if values is None:
        return pl.repeat(None, len(rows), dtype=dtype, eager=True)
    return pl.Series(values[rows] / scale if scale != 1 else values[rows]).cast(dtype)


def _dates(epoch_days: np.ndarray) -> pl.Series:
    return pl.Series(epoch_days.astype(np.int32)).cast(pl.Date)


def customers_frame(ch: Chunk, tl: Timeline) -> pl.DataFrame:
    """customers rows."""
    c = ch.customers
    first = pl.Series(FIRST_NAMES).gather(c.first_name.astype(np.uint32))
    last = pl.Series(LAST_NAMES).gather(c.last_name.astype(np.uint32))
    salaried = np.isin(c.employment, (SALARIED, CONTRACT, RETIRED))
    since = tl.epoch_day0 - c.tenure_months.astype(np.int64) * 30
    return pl.DataFrame({
        "customer_id": c.customer_id,
        "full_name": first + " " + last,
        "age": c.age,
        "employment_type": _enum(EMPLOYMENT, c.employment),
        "segment": _enum(SEGMENTS, c.segment),
        "region": _enum(REGIONS, c.region),
        "monthly_income": c.income / 100,
        "salary_day": pl.Series(np.where(salaried, c.pay_day, 0)).replace(0, None),
        "tenure_months": c.tenure_months,
        "is_active": pl.repeat(True, c.n, eager=True),
        # the customer's start date, not the load time: the same seed gives the same rows
        "created_at": _dates(since).dt.strftime("%Y-%m-%d 09:00:00+00"),
    })


def accounts_frame(ch: Chunk, tl: Timeline) -> pl.DataFrame:
    """accounts rows: a current account each, savings for most, and the card and/or loan."""
    c, sched, st = ch.customers, ch.schedule, ch.settlement
    start = tl.epoch_day0
    paid_loan = np.bincount(sched.cust[(sched.product == LOAN) & np.isin(st.status, (PAID, LATE))],
                            weights=sched.amount[(sched.product == LOAN) & np.isin(st.status, (PAID, LATE))],
                            minlength=c.n)
    loan_left = np.maximum(0, c.loan_outstanding - np.round(_PRINCIPAL_SHARE * paid_loan)).astype(np.int64)
    zero = np.zeros(c.n, np.int64)
    opened_current = start - c.tenure_months.astype(np.int64) * 30
    parts = []
    for code, has, limit, opening, outstanding, due_day, instalment, opened in (
        (CURRENT, np.ones(c.n, bool), None, c.current_open, zero, None, None, opened_current),
        (SAVINGS, c.has_savings, None, c.savings_open, zero, None, None, start - c.tenure_days_savings),
        (CARD, c.has_card, c.card_limit, zero, c.card_outstanding, c.card_due_day, c.card_instalment,
         start - c.tenure_days_card),
        (LOAN, c.has_loan, None, zero, loan_left, c.loan_due_day, c.loan_instalment, start - c.tenure_days_loan),
    ):
        rows = np.flatnonzero(has)
        k = len(rows)
        parts.append(pl.DataFrame({
            "account_id": c.customer_id[rows] * 10 + code,
            "customer_id": c.customer_id[rows],
            "product_type": pl.repeat(PRODUCTS[code], k, eager=True),
            "credit_limit": _optional(limit, rows, 100, pl.Float64),
            "opening_balance": opening[rows] / 100,
            "outstanding": outstanding[rows] / 100,
            "due_day": _optional(due_day, rows, 1, pl.Int16),
            "monthly_instalment": _optional(instalment, rows, 100, pl.Float64),
            "opened_on": _dates(np.maximum(opened[rows], opened_current[rows])),
        }))
    return pl.concat(parts).sort("account_id")


def payments_frame(ch: Chunk, tl: Timeline, first_id: int) -> pl.DataFrame:
    """payments rows: one per instalment due, numbered from first_id."""
    c, sched, st = ch.customers, ch.schedule, ch.settlement
    cid = c.customer_id[sched.cust]
    paid = st.paid_day >= 0
    return pl.DataFrame({
        "payment_id": first_id + np.arange(len(cid), dtype=np.int64),
        "customer_id": cid,
        "account_id": cid * 10 + sched.product,
        "due_date": _dates(tl.epoch_day0 + sched.due),
        "amount_due": sched.amount / 100,
        "paid_date": _dates(tl.epoch_day0 + st.paid_day).set(pl.Series(~paid), None),
        "amount_paid": np.where(paid, sched.amount, 0) / 100,
        "days_late": pl.Series(st.days_late).set(pl.Series(~paid), None),
        "status": _enum(STATUSES, st.status),
    })
