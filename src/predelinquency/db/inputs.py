"""Loading what the features need (daily_balances, customers, accounts, payments) through COPY.

Feature code is pure; this module is its door to the database. One load can serve many as_of dates:
daily rows cover [as_of_min - window_days, as_of_max), so every as_of in [as_of_min, as_of_max] has its
full window, and features ignore what lies on or after each as_of.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import numpy as np
import polars as pl
from sqlalchemy import Connection

from predelinquency.db.bulk import customer_filter, read_frames
from predelinquency.domain.daily import COUNT_COLUMNS, PANEL_COLUMNS, WINDOW_DAYS
from predelinquency.table import Columns, Schema, Table

DAILY_SCHEMA: Schema = (
    {"customer_id": pl.Int64(), "day": pl.Date()}
    | {c: pl.Float64() for c in PANEL_COLUMNS if c not in COUNT_COLUMNS}
    | {c: pl.Int32() for c in COUNT_COLUMNS}
)
CUSTOMER_SCHEMA: Schema = {
    "customer_id": pl.Int64(), "monthly_income": pl.Float64(), "salary_day": pl.Int16(),
    "employment_type": pl.String(), "segment": pl.String(), "tenure_months": pl.Int32(),
}
ACCOUNT_SCHEMA: Schema = {
    "account_id": pl.Int64(), "customer_id": pl.Int64(), "product_type": pl.String(), "credit_limit": pl.Float64(),
    "opening_balance": pl.Float64(), "outstanding": pl.Float64(), "due_day": pl.Int16(),
    "monthly_instalment": pl.Float64(), "opened_on": pl.Date(),
}
PAYMENT_SCHEMA: Schema = {
    "payment_id": pl.Int64(), "customer_id": pl.Int64(), "account_id": pl.Int64(), "due_date": pl.Date(),
    "amount_due": pl.Float64(), "paid_date": pl.Date(), "amount_paid": pl.Float64(), "days_late": pl.Int32(),
    "status": pl.String(),
}


@dataclass(frozen=True)
class FeatureInputs:
    """Everything compute_features reads, for a set of customers and a range of as_of dates."""

    # frames (COPY) or, for a few customers read on demand, Columns
    daily: Table               # daily_balances rows with day in [start, end)
    customers: Table
    accounts: Table
    payments: Table            # due_date before the latest as_of (or payments_due_before); all outcomes
    start: date
    end: date

    def only(self, customer_ids: list[int]) -> FeatureInputs:
        """The same inputs restricted to these customers."""
        def rows_of(table: Table) -> Table:
            if isinstance(table, Columns):
                return table.filter_rows(np.isin(table["customer_id"], customer_ids))
            return table.filter(pl.col("customer_id").is_in(customer_ids))

        return FeatureInputs(daily=rows_of(self.daily), customers=rows_of(self.customers),
                             accounts=rows_of(self.accounts), payments=rows_of(self.payments),
                             start=self.start, end=self.end)


def _columns(schema: Schema) -> str:
    """The SELECT list for a schema (names are ours, never user input)."""
    return ", ".join(schema)


def feature_input_queries(as_of_min: date, as_of_max: date, customer_ids: list[int] | None = None, *,
                          window_days: int = WINDOW_DAYS, payments_due_before: date | None = None
                          ) -> tuple[list[tuple[str, Schema]], dict[str, Any]]:
    """The four (query, schema) pairs of load_feature_inputs and their shared params, for read_frames.

    Callers that need more rows of the same customers (scoring's previous scores) add their own queries,
    so that everything goes out in one pipeline.
    """
    if as_of_max < as_of_min:
        raise ValueError(f"as_of_max {as_of_max} is before as_of_min {as_of_min}")
    # the filter is chosen here, not in SQL, so the planner sees a plain index condition
    only, params = customer_filter(customer_ids)
    params |= {"lo": as_of_min - timedelta(days=window_days), "hi": as_of_max,
               "due_hi": payments_due_before or as_of_max}
    return input_queries(only, "%(lo)s", "%(hi)s", "%(due_hi)s"), params


def input_queries(only: str, lo: str, hi: str, due_hi: str) -> list[tuple[str, Schema]]:
    """The four (query, schema) pairs reading daily rows in [lo, hi) and payments due before due_hi.

    only selects the customers; the bounds are SQL: bind parameters, or expressions computed in the same
    statement (scoring/nightly.load_latest_scoring_inputs).
    """
    return [
        (f"SELECT {_columns(DAILY_SCHEMA)} FROM daily_balances WHERE day >= {lo} AND day < {hi} AND {only}",
         DAILY_SCHEMA),
        (f"SELECT {_columns(CUSTOMER_SCHEMA)} FROM customers WHERE {only} ORDER BY customer_id", CUSTOMER_SCHEMA),
        (f"SELECT {_columns(ACCOUNT_SCHEMA)} FROM accounts WHERE {only}", ACCOUNT_SCHEMA),
        (f"SELECT {_columns(PAYMENT_SCHEMA)} FROM payments WHERE due_date < {due_hi} AND {only}", PAYMENT_SCHEMA),
    ]


def feature_inputs(frames: Sequence[Table], params: dict[str, Any]) -> FeatureInputs:
    """FeatureInputs from the first four frames read for feature_input_queries (with its params)."""
    daily, customers, accounts, payments = frames[:4]
    return FeatureInputs(daily=daily, customers=customers, accounts=accounts, payments=payments,
                         start=params["lo"], end=params["hi"])


def load_feature_inputs(conn: Connection, as_of_min: date, as_of_max: date, customer_ids: list[int] | None = None,
                        *, window_days: int = WINDOW_DAYS, payments_due_before: date | None = None) -> FeatureInputs:
    """Daily rows for [as_of_min - window_days, as_of_max), and the customers, accounts and payments of customer_ids.

    customer_ids None means every customer. payments_due_before (default as_of_max) lets a training job also
    load the payments its labels look at after the latest as_of.
    """
    queries, params = feature_input_queries(as_of_min, as_of_max, customer_ids, window_days=window_days,
                                            payments_due_before=payments_due_before)
    return feature_inputs(read_frames(conn, queries, params), params)

