"""The daily rollup: one daily_balances row per customer per day, the features' only view of transactions.

FLOWS is the rule of every flow column, as data: which of the day's transactions it sums or counts. The SQL
rollup (db/rollup.py) and the generator's own daily rows (simulate/daily.py) are both built from it; the
input loaders and the feature panel take their column lists from here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

ESSENTIAL = ("groceries", "utilities", "rent", "transport", "health")
DISCRETIONARY = ("dining", "entertainment", "shopping", "travel", "subscriptions")
DEBT_SERVICE = ("loan_instalment", "card_repayment")


@dataclass(frozen=True)
class Flow:
    """One flow column: the sum of the amounts, or the count, of the day's transactions that match."""

    column: str
    kind: Literal["sum", "count"]
    status: Literal["posted", "failed"] = "posted"  # only posted transactions move money
    categories: tuple[str, ...] = ()                # empty: any category
    channel: str | None = None                      # None: any channel
    direction: Literal["in", "out"] | None = None   # amount > 0 or < 0; None: either
    negate: bool = False                            # money out is stored positive


def _out(column: str, *categories: str) -> Flow:
    return Flow(column, "sum", categories=categories, negate=True)


# Money and counts that happened on a day: a missing day means nothing happened. Table order.
FLOWS: tuple[Flow, ...] = (
    Flow("inflow", "sum", direction="in"),
    Flow("outflow", "sum", direction="out", negate=True),
    Flow("salary_in", "sum", categories=("salary",)),
    Flow("transfer_in", "sum", categories=("transfer_in",)),
    Flow("lending_app_in", "sum", categories=("lending_app_credit",)),
    _out("essential_out", *ESSENTIAL),
    _out("discretionary_out", *DISCRETIONARY),
    _out("utility_out", "utilities"),
    _out("atm_out", "atm_withdrawal"),
    _out("gambling_out", "gambling"),
    _out("lending_app_out", "lending_app_repayment"),
    _out("debt_service_out", *DEBT_SERVICE),
    # money between the current and the savings account (amount < 0: into savings); it moves both balances
    _out("savings_out", "savings_transfer"),
    Flow("txn_count", "count"),
    Flow("card_count", "count", channel="card"),
    Flow("online_count", "count", channel="online"),
    Flow("atm_count", "count", channel="atm"),
    Flow("gambling_count", "count", categories=("gambling",)),
    Flow("failed_debits", "count", status="failed"),
)
# The flow whose running total moves the savings balance (the current balance moves by all posted money).
SAVINGS_FLOW = "savings_out"

FLOW_COLUMNS: tuple[str, ...] = tuple(f.column for f in FLOWS)
# The flows that are counts of transactions (smallint in the table); the others are money.
COUNT_COLUMNS: tuple[str, ...] = tuple(f.column for f in FLOWS if f.kind == "count")
# End-of-day levels: a missing day keeps the previous day's level.
LEVEL_COLUMNS: tuple[str, ...] = ("balance", "savings_balance")
PANEL_COLUMNS: tuple[str, ...] = LEVEL_COLUMNS + FLOW_COLUMNS
# every column of daily_balances, in table order
DAILY_COLUMNS: tuple[str, ...] = ("customer_id", "day", *PANEL_COLUMNS)

# The behaviour window every feature is defined on. Not a setting: the registry's features (90-day
# trends, 30/60/90 comparisons) are written for this length.
WINDOW_DAYS = 90
