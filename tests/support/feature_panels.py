"""Hand-built tiny panels and frames with known answers for the feature tests."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

import numpy as np
import polars as pl

from predelinquency.domain.daily import FLOW_COLUMNS
from predelinquency.features.build import compute_features
from predelinquency.features.window import Panel

AS_OF = date(2026, 3, 1)         # window: 2025-12-01 .. 2026-02-28
WINDOW_START = AS_OF - timedelta(days=90)

CUSTOMER_SCHEMA = {"customer_id": pl.Int64, "monthly_income": pl.Float64, "salary_day": pl.Int16}
ACCOUNT_SCHEMA = {"account_id": pl.Int64, "customer_id": pl.Int64, "product_type": pl.String,
                  "monthly_instalment": pl.Float64, "opened_on": pl.Date}
PAYMENT_SCHEMA = {"payment_id": pl.Int64, "customer_id": pl.Int64, "account_id": pl.Int64, "due_date": pl.Date,
                  "amount_due": pl.Float64, "paid_date": pl.Date, "amount_paid": pl.Float64,
                  "days_late": pl.Int32, "status": pl.String}


@dataclass
class PanelBuilder:
    """A quiet panel (no flows, balance 100, savings 1000) that tests write known events into.

    It runs 30 days past AS_OF so every test also checks that days on or after as_of are ignored.
    """

    n: int = 1
    start: date = AS_OF - timedelta(days=120)
    days: int = 150
    cols: dict[str, np.ndarray] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.cols = {c: np.zeros((self.n, self.days), np.float32) for c in FLOW_COLUMNS}
        self.cols["balance"] = np.full((self.n, self.days), 100, np.float32)
        self.cols["savings_balance"] = np.full((self.n, self.days), 1000, np.float32)

    def col(self, d: date) -> int:
        return (d - self.start).days

    def set(self, column: str, d: date, value: float, customer: int = 0) -> PanelBuilder:
        self.cols[column][customer, self.col(d)] = value
        return self

    def fill(self, column: str, first: date, last: date, value: float, customer: int = 0) -> PanelBuilder:
        """Sets column to value on every day from first to last inclusive."""
        self.cols[column][customer, self.col(first):self.col(last) + 1] = value
        return self

    def panel(self) -> Panel:
        return Panel(customer_ids=np.arange(1, self.n + 1, dtype=np.int64), start=self.start,
                     columns={k: v.copy() for k, v in self.cols.items()})


def customers_frame(n: int = 1, salary_day: int | None = 15, monthly_income: float = 3000.0) -> pl.DataFrame:
    return pl.DataFrame({"customer_id": list(range(1, n + 1)), "monthly_income": [monthly_income] * n,
                         "salary_day": [salary_day] * n}, schema=CUSTOMER_SCHEMA)


def accounts_frame(rows: list[dict] | None = None) -> pl.DataFrame:
    return pl.DataFrame(rows or [], schema=ACCOUNT_SCHEMA)


def payments_frame(rows: list[dict] | None = None) -> pl.DataFrame:
    """Payments with defaults filled in: customer 1, account 1, amount 100 paid in full."""
    full = [{"payment_id": i, "customer_id": 1, "account_id": 1, "amount_due": 100.0, "amount_paid": 100.0,
             "paid_date": None, "days_late": None, "status": "paid"} | r for i, r in enumerate(rows or [])]
    return pl.DataFrame(full, schema=PAYMENT_SCHEMA)


def features_of(builder: PanelBuilder, *, as_of: date = AS_OF, customers: pl.DataFrame | None = None,
                accounts: pl.DataFrame | None = None, payments: pl.DataFrame | None = None,
                customer: int = 0) -> dict[str, float]:
    """All features of one customer as a name -> value dict."""
    df = compute_features(builder.panel(), as_of, customers if customers is not None else customers_frame(builder.n),
                          accounts if accounts is not None else accounts_frame(),
                          payments if payments is not None else payments_frame())
    return df.row(customer, named=True)
