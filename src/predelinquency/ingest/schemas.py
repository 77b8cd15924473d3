"""What a bank's CSV files must look like: columns, types, ranges and allowed values, per table."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from predelinquency.domain.vocabulary import (
    EMPLOYMENT,
    PAYMENT_STATUS,
    PRODUCTS,
    SEGMENTS,
    TXN_CATEGORIES,
    TXN_CHANNELS,
    TXN_STATUSES,
)

Kind = Literal["int", "float", "str", "date", "datetime", "bool"]

# numeric(12, 2) and numeric(14, 2) columns hold less than 10^10 and 10^12
MONEY_12 = 9_999_999_999.99
MONEY_14 = 999_999_999_999.99
# free text: far below what a btree index entry holds (customers_name_idx), enforced by the schema too (sql/009)
NAME_LENGTH = 200
REGION_LENGTH = 100


@dataclass(frozen=True)
class Column:
    """One CSV column: its type, whether a value is required, and the values it may take."""

    name: str
    kind: Kind
    required: bool = True
    min: float | None = None
    max: float | None = None
    choices: tuple[str, ...] | None = None
    default: Any = None  # used when the column is absent from the file (optional columns only)
    max_length: int | None = None  # characters, for free text (the customers table's CHECKs say the same)


@dataclass(frozen=True)
class TableSpec:
    """A loadable table: its key, its columns, and which other files/tables its ids must exist in."""

    name: str
    key: str
    columns: tuple[Column, ...]
    # column -> table whose key it references (customers, accounts)
    references: dict[str, str] = field(default_factory=dict)

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]


CUSTOMERS = TableSpec("customers", "customer_id", (
    Column("customer_id", "int", min=1),
    Column("full_name", "str", max_length=NAME_LENGTH),
    Column("age", "int", min=18, max=100),
    Column("employment_type", "str", choices=EMPLOYMENT),
    Column("segment", "str", choices=SEGMENTS),
    Column("region", "str", max_length=REGION_LENGTH),
    Column("monthly_income", "float", min=0, max=MONEY_12),
    Column("salary_day", "int", required=False, min=1, max=28),
    Column("tenure_months", "int", min=0, max=2_000),
    Column("is_active", "bool", required=False, default=True),
))

ACCOUNTS = TableSpec("accounts", "account_id", (
    Column("account_id", "int", min=1),
    Column("customer_id", "int", min=1),
    Column("product_type", "str", choices=PRODUCTS),
    Column("credit_limit", "float", required=False, min=0, max=MONEY_14),
    Column("opening_balance", "float", required=False, min=-MONEY_14, max=MONEY_14, default=0.0),
    Column("outstanding", "float", required=False, min=0, max=MONEY_14, default=0.0),
    Column("due_day", "int", required=False, min=1, max=28),
    Column("monthly_instalment", "float", required=False, min=0, max=MONEY_12),
    Column("opened_on", "date"),
), references={"customer_id": "customers"})

TRANSACTIONS = TableSpec("transactions", "txn_id", (
    Column("txn_id", "int", min=1),
    Column("customer_id", "int", min=1),
    Column("account_id", "int", min=1),
    Column("ts", "datetime"),
    Column("amount", "float", min=-MONEY_12, max=MONEY_12),
    Column("category", "str", choices=TXN_CATEGORIES),
    Column("channel", "str", choices=TXN_CHANNELS),
    Column("status", "str", required=False, choices=TXN_STATUSES, default="posted"),
), references={"customer_id": "customers", "account_id": "accounts"})

PAYMENTS = TableSpec("payments", "payment_id", (
    Column("payment_id", "int", min=1),
    Column("customer_id", "int", min=1),
    Column("account_id", "int", min=1),
    Column("due_date", "date"),
    Column("amount_due", "float", min=0, max=MONEY_12),
    Column("paid_date", "date", required=False),
    Column("amount_paid", "float", required=False, min=0, max=MONEY_12, default=0.0),
    Column("days_late", "int", required=False, min=0, max=10_000),
    Column("status", "str", choices=PAYMENT_STATUS),
), references={"customer_id": "customers", "account_id": "accounts"})

# load order: referenced tables first
SPECS: dict[str, TableSpec] = {s.name: s for s in (CUSTOMERS, ACCOUNTS, TRANSACTIONS, PAYMENTS)}
