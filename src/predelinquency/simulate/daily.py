"""daily_balances rows computed from a chunk's own transaction arrays by the rules of the SQL rollup
(predelinquency.db.rollup), both built from predelinquency.domain.daily.FLOWS. Amounts are summed in integer
cents so both paths give identical doubles."""

from __future__ import annotations

import numpy as np
import polars as pl

from predelinquency.domain.daily import COUNT_COLUMNS, DAILY_COLUMNS, FLOWS, SAVINGS_FLOW, Flow
from predelinquency.simulate.events import CAT, CATEGORIES, CH, Events


def _matching(ev: Events, f: Flow) -> np.ndarray | None:
    """Which events a flow's categories, channel and direction select (None: all); status aside."""
    mask = None
    if f.categories:
        lut = np.zeros(len(CATEGORIES), bool)
        lut[[CAT[c] for c in f.categories]] = True
        mask = lut[ev.cat]
    if f.channel is not None:
        mask = (ev.chan == CH[f.channel]) if mask is None else mask & (ev.chan == CH[f.channel])
    if f.direction is not None:
        sign = (ev.cents > 0) if f.direction == "in" else (ev.cents < 0)
        mask = sign if mask is None else mask & sign
    return mask


def daily_arrays(ev: Events, n: int, days: int, current_open: np.ndarray,
                 savings_open: np.ndarray) -> dict[str, np.ndarray]:
    """Column name -> (n, days) int64 array: end-of-day balances and flows in cents, and counts."""
    size = n * days
    key = ev.cust.astype(np.int64) * days + ev.day
    status = {"posted": ~ev.failed, "failed": ev.failed}
    posted_cents = np.where(ev.failed, 0.0, ev.cents.astype(np.float64))  # only posted money moves

    def per_day(weights: np.ndarray) -> np.ndarray:
        return np.bincount(key, weights=weights, minlength=size).reshape(n, days).astype(np.int64)

    out: dict[str, np.ndarray] = {}
    for f in FLOWS:
        mask = _matching(ev, f)
        if f.kind == "count":
            out[f.column] = per_day(status[f.status] if mask is None else status[f.status] & mask)
            continue
        if f.status != "posted":
            raise ValueError(f"{f.column}: failed transactions move no money, so there is nothing to sum")
        total = per_day(posted_cents if mask is None else np.where(mask, posted_cents, 0.0))
        out[f.column] = -total if f.negate else total
    out["balance"] = current_open[:, None] + np.cumsum(per_day(posted_cents), axis=1)
    out["savings_balance"] = savings_open[:, None] + np.cumsum(out[SAVINGS_FLOW], axis=1)
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
        cols[name] = pl.Series(a.astype(np.int16) if name in COUNT_COLUMNS else a / 100.0)
    return pl.DataFrame(cols)
