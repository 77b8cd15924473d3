"""Transactions family: activity, channel mix, gambling, lending-app (payday loan) credits and repayments."""

from __future__ import annotations

import numpy as np

from predelinquency.features.ops import days_since, head, rate_ratio, ratio, tail
from predelinquency.features.window import Window

FAMILY = "transactions"

# name, unit, risk direction, description, reason template
SPECS: tuple[tuple[str, str, int, str, str], ...] = (
    ("txn_count_7d", "count", 0, "transactions in the last 7 days",
     "{value:.0f} transactions in the last 7 days"),
    ("txn_count_30d", "count", 0, "transactions in the last 30 days",
     "{value:.0f} transactions in the last 30 days"),
    ("txn_count_90d", "count", 0, "transactions in the last 90 days",
     "{value:.0f} transactions in the last 90 days"),
    ("txn_count_30d_vs_prev60", "ratio", 0, "daily transactions in the last 30 days over the 60 days before",
     "transactions ran at {value:.0%} of the usual rate"),
    ("txn_per_active_day_30d", "count", 0, "transactions per active day in the last 30 days",
     "{value:.1f} transactions per active day"),
    ("active_days_30d", "days", -1, "days with at least one transaction in the last 30 days",
     "the account was used on {value:.0f} of the last 30 days"),
    ("active_days_90d", "days", -1, "days with at least one transaction in the last 90 days",
     "the account was used on {value:.0f} of the last 90 days"),
    ("days_since_last_txn", "days", 1, "days since the most recent transaction",
     "no transaction for {value:.0f} days"),
    ("txn_avg_amount_30d", "currency", 0, "money out per transaction in the last 30 days",
     "transactions averaged {value:,.0f} out"),
    ("card_count_30d", "count", 0, "card payments in the last 30 days",
     "{value:.0f} card payments in the last 30 days"),
    ("online_count_30d", "count", 0, "online payments in the last 30 days",
     "{value:.0f} online payments in the last 30 days"),
    ("card_share_30d", "ratio", 0, "card payments as a share of transactions, last 30 days",
     "{value:.0%} of transactions were card payments"),
    ("online_share_30d", "ratio", 0, "online payments as a share of transactions, last 30 days",
     "{value:.0%} of transactions were online"),
    ("atm_share_of_txn_30d", "ratio", 1, "ATM withdrawals as a share of transactions, last 30 days",
     "{value:.0%} of transactions were ATM withdrawals"),
    ("card_share_change_30d", "ratio", 0, "card share of transactions, last 30 days minus the 60 before",
     "the card share of transactions moved by {value:+.0%}"),
    ("online_share_change_30d", "ratio", 0, "online share of transactions, last 30 days minus the 60 before",
     "the online share of transactions moved by {value:+.0%}"),
    ("atm_share_of_txn_change_30d", "ratio", 1, "ATM share of transactions, last 30 days minus the 60 before",
     "the ATM share of transactions moved by {value:+.0%}"),
    ("gambling_out_30d", "currency", 1, "money spent on gambling in the last 30 days",
     "{value:,.0f} spent on gambling in the last 30 days"),
    ("gambling_out_90d", "currency", 1, "money spent on gambling in the last 90 days",
     "{value:,.0f} spent on gambling in the last 90 days"),
    ("gambling_count_30d", "count", 1, "gambling transactions in the last 30 days",
     "{value:.0f} gambling transactions in the last 30 days"),
    ("gambling_count_90d", "count", 1, "gambling transactions in the last 90 days",
     "{value:.0f} gambling transactions in the last 90 days"),
    ("gambling_days_30d", "days", 1, "days with gambling in the last 30 days",
     "gambled on {value:.0f} of the last 30 days"),
    ("gambling_share_of_spend_30d", "ratio", 1, "gambling as a share of all money out, last 30 days",
     "{value:.0%} of spending went on gambling in the last 30 days"),
    ("gambling_share_of_spend_90d", "ratio", 1, "gambling as a share of all money out, last 90 days",
     "{value:.0%} of spending went on gambling in the last 90 days"),
    ("gambling_out_30d_vs_prev60", "ratio", 1, "daily gambling spend in the last 30 days over the 60 days before",
     "gambling ran at {value:.0%} of its usual rate"),
    ("lending_app_in_30d", "currency", 1, "money received from lending apps (payday loans) in the last 30 days",
     "{value:,.0f} borrowed from lending apps in the last 30 days"),
    ("lending_app_in_90d", "currency", 1, "money received from lending apps (payday loans) in the last 90 days",
     "{value:,.0f} borrowed from lending apps in the last 90 days"),
    ("lending_app_out_30d", "currency", 1, "repayments to lending apps in the last 30 days",
     "{value:,.0f} repaid to lending apps in the last 30 days"),
    ("lending_app_out_90d", "currency", 1, "repayments to lending apps in the last 90 days",
     "{value:,.0f} repaid to lending apps in the last 90 days"),
    ("lending_app_credit_days_90d", "days", 1, "days with a lending-app credit in the last 90 days",
     "took lending-app loans on {value:.0f} days in the last 90 days"),
    ("lending_app_net_90d", "currency", 1, "lending-app credits minus repayments in the last 90 days",
     "{value:,.0f} more borrowed from lending apps than repaid"),
    ("lending_app_share_of_income_90d", "ratio", 1, "lending-app credits as a share of money received, 90 days",
     "{value:.0%} of money received came from lending apps"),
    ("lending_app_new_flag_30d", "flag", 1, "1 if lending-app credits appeared in the last 30 days after none before",
     "started borrowing from lending apps in the last 30 days"),
    ("days_since_lending_app_credit", "days", -1, "days since the most recent lending-app credit",
     "borrowed from a lending app {value:.0f} days ago"),
    ("transfer_in_30d", "currency", 0, "transfers received (not salary, not loans) in the last 30 days",
     "{value:,.0f} received in transfers in the last 30 days"),
    ("transfer_in_30d_vs_prev60", "ratio", 1, "daily transfers received in the last 30 days over the 60 before",
     "transfers received ran at {value:.0%} of the usual rate"),
)


def _share_change(part: np.ndarray, whole: np.ndarray, base_days: int) -> tuple[np.ndarray, np.ndarray]:
    """(share of `whole` in the last 30 days, that share minus the share in the `base_days` before)."""
    recent = ratio(tail(part, 30), tail(whole, 30))
    return recent, recent - ratio(head(part, base_days), head(whole, base_days))


def transaction_features(win: Window) -> dict[str, np.ndarray]:
    """Activity, channel-mix, gambling and lending-app features per customer, keyed by feature name."""
    base_days = win.days - 30
    txn, outflow = win["txn_count"], win["outflow"]
    gamb, lend_in, lend_out = win["gambling_out"], win["lending_app_in"], win["lending_app_out"]
    t30, o30, o90 = tail(txn, 30), tail(outflow, 30), outflow.sum(axis=1, dtype=np.float64)
    active = txn > 0
    active30 = tail(active, 30)
    card_share, card_change = _share_change(win["card_count"], txn, base_days)
    online_share, online_change = _share_change(win["online_count"], txn, base_days)
    atm_share, atm_change = _share_change(win["atm_count"], txn, base_days)
    g30, g90 = tail(gamb, 30), gamb.sum(axis=1, dtype=np.float64)
    li30, li90 = tail(lend_in, 30), lend_in.sum(axis=1, dtype=np.float64)
    lo90 = lend_out.sum(axis=1, dtype=np.float64)
    borrowed = lend_in > 0
    return {
        "txn_count_7d": tail(txn, 7),
        "txn_count_30d": t30,
        "txn_count_90d": txn.sum(axis=1, dtype=np.float64),
        "txn_count_30d_vs_prev60": rate_ratio(t30, 30, head(txn, base_days), base_days),
        "txn_per_active_day_30d": ratio(t30, active30),
        "active_days_30d": active30,
        "active_days_90d": active.sum(axis=1, dtype=np.float64),
        "days_since_last_txn": days_since(active),
        "txn_avg_amount_30d": ratio(o30, t30),
        "card_count_30d": tail(win["card_count"], 30),
        "online_count_30d": tail(win["online_count"], 30),
        "card_share_30d": card_share,
        "online_share_30d": online_share,
        "atm_share_of_txn_30d": atm_share,
        "card_share_change_30d": card_change,
        "online_share_change_30d": online_change,
        "atm_share_of_txn_change_30d": atm_change,
        "gambling_out_30d": g30,
        "gambling_out_90d": g90,
        "gambling_count_30d": tail(win["gambling_count"], 30),
        "gambling_count_90d": win["gambling_count"].sum(axis=1, dtype=np.float64),
        "gambling_days_30d": tail(gamb > 0, 30),
        "gambling_share_of_spend_30d": ratio(g30, o30),
        "gambling_share_of_spend_90d": ratio(g90, o90),
        "gambling_out_30d_vs_prev60": rate_ratio(g30, 30, head(gamb, base_days), base_days),
        "lending_app_in_30d": li30,
        "lending_app_in_90d": li90,
        "lending_app_out_30d": tail(lend_out, 30),
        "lending_app_out_90d": lo90,
        "lending_app_credit_days_90d": borrowed.sum(axis=1, dtype=np.float64),
        "lending_app_net_90d": li90 - lo90,
        "lending_app_share_of_income_90d": ratio(li90, win["inflow"].sum(axis=1, dtype=np.float64)),
        "lending_app_new_flag_30d": ((li30 > 0) & (head(lend_in, base_days) == 0)).astype(np.float64),
        "days_since_lending_app_credit": days_since(borrowed),
        "transfer_in_30d": tail(win["transfer_in"], 30),
        "transfer_in_30d_vs_prev60": rate_ratio(tail(win["transfer_in"], 30), 30,
                                                head(win["transfer_in"], base_days), base_days),
    }
