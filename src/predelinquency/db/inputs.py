"""Loading what features and scoring read: daily_balances, customers, accounts, payments and previous scores.

Feature code is pure; this module is its door to the database. One load can serve many as_of dates:
daily rows cover [as_of_min - WINDOW_DAYS, as_of_max), so every as_of in [as_of_min, as_of_max] has its
full window, and features ignore what lies on or after each as_of. Scoring (the nightly and on demand
alike) also reads each customer's previous score, for the change in score and tier.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import numpy as np
import polars as pl
from sqlalchemy import Connection

from predelinquency.db.bulk import (
    FETCH_MAX_CUSTOMERS,
    customer_filter,
    fetch_all,
    read_columns,
    read_frames,
    read_one_statement,
)
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
                          payments_due_before: date | None = None
                          ) -> tuple[list[tuple[str, Schema]], dict[str, Any]]:
    """The four (query, schema) pairs of load_feature_inputs and their shared params, for read_frames.

    Callers that need more rows of the same customers (scoring's previous scores) add their own queries,
    so that everything goes out in one pipeline.
    """
    if as_of_max < as_of_min:
        raise ValueError(f"as_of_max {as_of_max} is before as_of_min {as_of_min}")
    # the filter is chosen here, not in SQL, so the planner sees a plain index condition
    only, params = customer_filter(customer_ids)
    params |= {"lo": as_of_min - timedelta(days=WINDOW_DAYS), "hi": as_of_max,
               "due_hi": payments_due_before or as_of_max}
    return input_queries(only, "%(lo)s", "%(hi)s", "%(due_hi)s"), params


def input_queries(only: str, lo: str, hi: str, due_hi: str) -> list[tuple[str, Schema]]:
    """The four (query, schema) pairs reading daily rows in [lo, hi) and payments due before due_hi.

    only selects the customers; the bounds are SQL: bind parameters, or expressions computed in the same
    statement (load_latest_scoring_inputs).
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
                        *, payments_due_before: date | None = None) -> FeatureInputs:
    """Daily rows for [as_of_min - WINDOW_DAYS, as_of_max), and the customers, accounts and payments of customer_ids.

    customer_ids None means every customer. payments_due_before (default as_of_max) lets a training job also
    load the payments its labels look at after the latest as_of.
    """
    queries, params = feature_input_queries(as_of_min, as_of_max, customer_ids,
                                            payments_due_before=payments_due_before)
    return feature_inputs(read_frames(conn, queries, params), params)


# how far back a customer's previous score is looked for
PREVIOUS_LOOKBACK_DAYS = 90
_PREVIOUS_SCHEMA: Schema = {"customer_id": pl.Int64(), "prev_pd": pl.Float64(), "prev_tier": pl.String(),
                            "prev_score": pl.Float64()}


def _previous_query(only: str, as_of: str = "%(d)s") -> tuple[str, Schema]:
    """Each customer's latest score before as_of (SQL; within %(back)s days), for the customers `only` selects."""
    return ("SELECT DISTINCT ON (customer_id) customer_id, pd AS prev_pd, tier AS prev_tier, score AS prev_score "
            f"FROM risk_scores WHERE as_of < {as_of} AND as_of >= {as_of} - %(back)s AND {only} "
            "ORDER BY customer_id, as_of DESC, created_at DESC", _PREVIOUS_SCHEMA)


def load_scoring_inputs(conn: Connection, as_of: date, customer_ids: list[int], on_demand: bool = False
                        ) -> tuple[FeatureInputs, Table]:
    """(feature inputs, previous scores) of these customers at as_of: for a few customers, one round trip.

    on_demand: a few customers' rows come as Columns rather than frames (see predelinquency.table).
    """
    queries, params = feature_input_queries(as_of, as_of, customer_ids)
    only, _ = customer_filter(customer_ids)
    read = read_columns if on_demand else read_frames
    frames = read(conn, [*queries, _previous_query(only)], params | {"d": as_of, "back": PREVIOUS_LOOKBACK_DAYS})
    return feature_inputs(frames, params), frames[4]


# the day after the customers' latest data, computed once in the statement that reads at it
_LATEST_AS_OF = "(SELECT as_of FROM latest)"


def load_latest_scoring_inputs(conn: Connection, customer_ids: list[int]
                               ) -> tuple[date | None, FeatureInputs, Table]:
    """(as_of, feature inputs, previous scores) of these customers at the day after the latest data of any of them.

    as_of is None when none of them has daily data yet; unknown customers have no customers row. For a few
    customers one statement: the latest-day lookup and the five reads of load_scoring_inputs in one round trip.
    """
    only, params = customer_filter(customer_ids)
    # an index lookup per customer, not a scan of every daily row of a batch
    latest = ("SELECT max((SELECT max(day) FROM daily_balances b WHERE b.customer_id = c.customer_id)) + 1 "
              f"AS as_of FROM customers c WHERE {customer_filter(customer_ids, 'c.customer_id')[0]}")
    if len(customer_ids) > FETCH_MAX_CUSTOMERS:
        # many customers: the day first, then their rows through COPY (one statement's arrays cost more)
        as_of = fetch_all(conn, latest, params)[0][0]
        if as_of is not None:
            return as_of, *load_scoring_inputs(conn, as_of, customer_ids, on_demand=True)
    queries = [*input_queries(only, f"{_LATEST_AS_OF} - %(window)s", _LATEST_AS_OF, _LATEST_AS_OF),
               _previous_query(only, _LATEST_AS_OF)]
    as_of, tables = read_one_statement(conn, f"WITH latest AS MATERIALIZED ({latest})", _LATEST_AS_OF, queries,
                                       params | {"window": WINDOW_DAYS, "back": PREVIOUS_LOOKBACK_DAYS})
    daily, customers, accounts, payments, previous = tables
    start = as_of - timedelta(days=WINDOW_DAYS) if as_of is not None else None
    return as_of, FeatureInputs(daily=daily, customers=customers, accounts=accounts, payments=payments,
                                start=start, end=as_of), previous
