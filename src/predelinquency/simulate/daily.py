"""daily_balances rows computed from a chunk's own transaction arrays, with exactly the rules of the SQL
rollup (predelinquency.db.rollup): posted money only, money out positive, balances carried from the
opening balances. Amounts are summed in integer cents so both paths give identical doubles."""

from __future__ import annotations

import numpy as np
import polars as pl

from predelinquency.domain.daily import DAILY_COLUMNS
from predelinquency.simulate.events import CAT, CATEGORIES, CH, DEBT_SERVICE, DISCRETIONARY, ESSENTIAL, Events


def daily_arrays(ev: Events, n: int, days: int, current_open: np.ndarray,
                 savings_open: np.ndarray) -> dict[str, np.ndarray]:
    """Column name -> (n, days) array: end-of-day balances and flows in cents, and counts."""
    size = n * days
    key = ev.cust.astype(np.int64) * days + ev.day
    posted = ~ev.failed
    cents = np.where(posted, ev.cents, 0).astype(np.float64)
    cat = ev.cat

    def total(categories: tuple[int, ...] | None = None, sign: int = 1, where: np.ndarray | None = None) -> np.ndarray:
        w = cents
        if categories is not None:
            lut = np.zeros(len(CATEGORIES), bool)
            lut[list(categories)] = True
            w = np.where(lut[cat], w, 0.0)
        if where is not None:
            w = np.where(where, w, 0.0)
        return (sign * np.bincount(key, weights=w, minlength=size).reshape(n, days)).astype(np.int64)

    def count(mask: np.ndarray) -> np.ndarray:
        return np.bincount(key, weights=mask, minlength=size).reshape(n, days).astype(np.int64)

    savings = total((CAT["savings_transfer"],))
    out = {
        "balance": current_open[:, None] + np.cumsum(total(), axis=1),
        "savings_balance": savings_open[:, None] - np.cumsum(savings, axis=1),
        "inflow": total(where=cents > 0),
        "outflow": total(sign=-1, where=cents < 0),
        "salary_in": total((CAT["salary"],)),
        "transfer_in": total((CAT["transfer_in"],)),
        "lending_app_in": total((CAT["lending_app_credit"],)),
        "essential_out": total(ESSENTIAL, -1),
        "discretionary_out": total(DISCRETIONARY, -1),
        "utility_out": total((CAT["utilities"],), -1),
        "atm_out": total((CAT["atm_withdrawal"],), -1),
        "gambling_out": total((CAT["gambling"],), -1),
        "lending_app_out": total((CAT["lending_app_repayment"],), -1),
        "debt_service_out": total(DEBT_SERVICE, -1),
        "savings_out": -savings,
        "txn_count": count(posted),
        "card_count": count(posted & (ev.chan == CH["card"])),
        "online_count": count(posted & (ev.chan == CH["online"])),
        "atm_count": count(posted & (ev.chan == CH["atm"])),
        "gambling_count": count(posted & (cat == CAT["gambling"])),
        "failed_debits": count(ev.failed),
    }
    return out


def daily_frame(arrays: dict[str, np.ndarray], customer_id: np.ndarray, epoch_day0: int) -> pl.DataFrame:
    """daily_balances rows (customer-major, then day) from daily_arrays; money in currency units."""
    n, days = arrays["balance"].shape
    cols: dict[str, pl.Series] = {
        "customer_id": pl.Series(np.repeat(customer_id, days)),
        "day": pl.Series(np.tile(np.arange(days, dtype=np.int32) + epoch_day0, n)).cast(pl.Date),
    }
    for name in DAILY_COLUMNS[2:]:
        a = arrays[name].ravel()
        cols[name] = pl.Series(a.astype(np.int16) if name.endswith(("count", "debits")) else a / 100.0)
    return pl.DataFrame(cols)
