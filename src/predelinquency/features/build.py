"""compute_features: one row of every registered feature per panel customer at an as_of date."""

from __future__ import annotations

from datetime import date

import numpy as np
import polars as pl

from predelinquency.domain.daily import WINDOW_DAYS
from predelinquency.features.balance import balance_features
from predelinquency.features.cash import cash_features
from predelinquency.features.derived import derived_features
from predelinquency.features.payments import payment_features
from predelinquency.features.registry import FEATURE_NAMES
from predelinquency.features.salary import days_to_pay_day, salary_features, usual_pay_day
from predelinquency.features.spending import spending_features
from predelinquency.features.transactions import transaction_features
from predelinquency.features.window import Panel, index_of, window
from predelinquency.table import Table, column

# below this many customers a transposed frame build is faster than one Series per feature
_SMALL_BATCH = 32


def _profile(customers: Table, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(declared monthly income, declared salary day) aligned to ids; NaN where unknown."""
    # Series.to_numpy, not select/cast: a polars query's fixed cost outweighs one customer's whole feature work
    pos = index_of(ids, column(customers, "customer_id").astype(np.int64))
    found = pos >= 0
    income = np.full(len(ids), np.nan)
    salary_day = np.full(len(ids), np.nan)
    income[pos[found]] = column(customers, "monthly_income").astype(np.float64)[found]
    salary_day[pos[found]] = column(customers, "salary_day").astype(np.float64)[found]
    return income, salary_day


def _matrix(features: dict[str, np.ndarray], n: int) -> np.ndarray:
    """(n, features) float64, columns in registry order."""
    if features.keys() != set(FEATURE_NAMES):
        missing = sorted(set(FEATURE_NAMES) - features.keys())
        extra = sorted(features.keys() - set(FEATURE_NAMES))
        raise RuntimeError(f"feature code and registry disagree: missing {missing}, unregistered {extra}")
    # one concatenate instead of stacking 175 small arrays one by one: one call's overhead, not 175
    matrix = np.concatenate([features[name] for name in FEATURE_NAMES]).astype(np.float64, copy=False)
    return matrix.reshape(len(FEATURE_NAMES), n).T


def features_frame(ids: np.ndarray, matrix: np.ndarray) -> pl.DataFrame:
    """customer_id plus the features of feature_matrix, as Float64 columns in registry order."""
    if len(ids) < _SMALL_BATCH:
        # one Series per customer then a transpose: for a few rows, building 175 Series costs far more
        frame = pl.DataFrame(matrix.T, orient="row").transpose(column_names=FEATURE_NAMES)
        return frame.insert_column(0, pl.Series("customer_id", ids.astype(np.int64)))
    data = {"customer_id": ids.astype(np.int64)} | dict(zip(FEATURE_NAMES, matrix.T, strict=True))
    return pl.DataFrame(data)


def feature_matrix(panel: Panel, as_of: date, customers: Table, accounts: Table, payments: Table, *,
                   grace_days: int = 5) -> np.ndarray:
    """(panel customers, registered features) float64 matrix, columns in registry order: see compute_features.

    What scoring uses: a frame of 175 columns costs more than the model for one customer.
    """
    # the database returns accounts and payments in no set order, and a per-customer sum of floats depends on
    # the order it adds in: in key order every feature is the same to the last bit, run after run
    accounts, payments = accounts.sort("account_id"), payments.sort("payment_id")
    win = window(panel, as_of, WINDOW_DAYS)
    income, salary_day = _profile(customers, panel.customer_ids)
    pay_day = usual_pay_day(win, salary_day)
    to_payday = days_to_pay_day(win, pay_day)
    f: dict[str, np.ndarray] = {}
    f |= salary_features(win, salary_day, pay_day, income)
    f |= balance_features(win, to_payday)
    f |= spending_features(win, income)
    f |= payment_features(win, payments, accounts, grace_days)
    f |= cash_features(win, to_payday, income)
    f |= transaction_features(win)
    f |= derived_features(f, income)
    return _matrix(f, panel.n_customers)


def compute_features(panel: Panel, as_of: date, customers: pl.DataFrame, accounts: pl.DataFrame,
                     payments: pl.DataFrame, *, grace_days: int = 5) -> pl.DataFrame:
    """Every registered feature for each panel customer, from data strictly before as_of (NaN where undefined).

    Rows follow panel.customer_ids; customers, accounts and payments may hold other customers and rows
    on or after as_of, which are ignored. grace_days: days after the due date a payment is late, not missed.
    """
    return features_frame(panel.customer_ids,
                          feature_matrix(panel, as_of, customers, accounts, payments, grace_days=grace_days))
