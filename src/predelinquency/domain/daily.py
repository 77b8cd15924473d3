"""The daily rollup's columns: one daily_balances row per customer per day, the features' only view of
transactions. The SQL rollup (db/rollup.py), the generator's own daily rows (simulate/daily.py), the input
loaders and the feature panel all take their column lists from here."""

from __future__ import annotations

# Money and counts that happened on a day: a missing day means nothing happened.
FLOW_COLUMNS: tuple[str, ...] = (
    "inflow", "outflow", "salary_in", "transfer_in", "lending_app_in", "essential_out", "discretionary_out",
    "utility_out", "atm_out", "gambling_out", "lending_app_out", "debt_service_out", "savings_out",
    "txn_count", "card_count", "online_count", "atm_count", "gambling_count", "failed_debits",
)
# The flows that are counts of transactions (smallint in the table); the others are money.
COUNT_COLUMNS: tuple[str, ...] = ("txn_count", "card_count", "online_count", "atm_count", "gambling_count",
                                  "failed_debits")
# End-of-day levels: a missing day keeps the previous day's level.
LEVEL_COLUMNS: tuple[str, ...] = ("balance", "savings_balance")
PANEL_COLUMNS: tuple[str, ...] = LEVEL_COLUMNS + FLOW_COLUMNS
# every column of daily_balances, in table order
DAILY_COLUMNS: tuple[str, ...] = ("customer_id", "day", *PANEL_COLUMNS)

# The behaviour window every feature is defined on. Not a setting: the registry's features (90-day
# trends, 30/60/90 comparisons) are written for this length.
WINDOW_DAYS = 90
