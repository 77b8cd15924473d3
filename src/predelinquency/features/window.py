"""The as_of panel: daily_balances as dense [customers × days] float32 arrays, and 90-day window views of it.

Training loads one long panel and slices many as_of windows from it; the nightly job and the API load
exactly one window. Days a customer has no row are filled: flows with 0, balances carried forward.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache

import numpy as np

from predelinquency.domain.daily import LEVEL_COLUMNS, PANEL_COLUMNS, WINDOW_DAYS
from predelinquency.features.ops import date_days, epoch_day
from predelinquency.table import Table, column


@dataclass(frozen=True)
class Panel:
    """Daily behaviour of a set of customers over consecutive days, one float32 array per column."""

    customer_ids: np.ndarray          # int64, sorted, unique; row i of every array is customer_ids[i]
    start: date                       # the day of column 0
    columns: dict[str, np.ndarray]    # name -> float32 [n_customers, n_days], column-major

    @property
    def n_customers(self) -> int:
        return len(self.customer_ids)

    @property
    def n_days(self) -> int:
        return next(iter(self.columns.values())).shape[1]

    @property
    def end(self) -> date:
        """The first day after the panel (exclusive end)."""
        return self.start + timedelta(days=self.n_days)

    def rows_of(self, customer_ids: np.ndarray) -> np.ndarray:
        """Row index of each customer in the panel, -1 where the customer is not in it."""
        return index_of(self.customer_ids, np.asarray(customer_ids, dtype=np.int64))


@dataclass(frozen=True)
class Window:
    """The `days` days strictly before as_of for every panel customer; arrays are [n_customers, days]."""

    customer_ids: np.ndarray
    as_of: date
    columns: dict[str, np.ndarray]
    day_of_month: np.ndarray          # int [days]: calendar day of each column
    days_in_month: np.ndarray         # int [days]: length of that column's month

    def __getitem__(self, name: str) -> np.ndarray:
        return self.columns[name]

    @property
    def n_customers(self) -> int:
        return len(self.customer_ids)

    @property
    def days(self) -> int:
        return len(self.day_of_month)

    @property
    def start(self) -> date:
        return self.as_of - timedelta(days=self.days)


def index_of(sorted_ids: np.ndarray, ids: np.ndarray) -> np.ndarray:
    """Position of each id in sorted_ids, -1 where it is absent."""
    if len(sorted_ids) == 0:
        return np.full(len(ids), -1, dtype=np.int64)
    pos = np.minimum(np.searchsorted(sorted_ids, ids), len(sorted_ids) - 1)
    return np.where(sorted_ids[pos] == ids, pos, -1)


def positions(ids: np.ndarray, query: np.ndarray) -> np.ndarray:
    """Position of each query id in ids (unique, in any order), -1 where it is absent."""
    if len(ids) == 0:
        return np.full(len(query), -1, dtype=np.int64)
    if len(ids) == 1:  # one customer on demand: a comparison, not a sort and a search
        return np.where(query == ids[0], 0, -1)
    order = np.argsort(ids, kind="stable")
    pos = index_of(ids[order], query)
    return np.where(pos >= 0, order[np.maximum(pos, 0)], -1)


def forward_fill(values: np.ndarray) -> np.ndarray:
    """Each NaN replaced by the last non-NaN value to its left in the row; leading NaNs stay NaN."""
    # work on the [days, customers] transpose: for the panel's column-major arrays each day is contiguous
    by_day = values.T
    idx = np.where(~np.isnan(by_day), np.arange(by_day.shape[0])[:, None], 0)
    np.maximum.accumulate(idx, axis=0, out=idx)
    return np.take_along_axis(by_day, idx, axis=0).T


def _dense(values: np.ndarray, flat: np.ndarray | None, n: int, n_days: int, fill: float) -> np.ndarray:
    """[n, n_days] column-major float32 array with values at flat positions (None: already all in order)."""
    if flat is None:
        return values.reshape(n_days, n).T
    out = np.full(n * n_days, fill, dtype=np.float32)
    out[flat] = values
    return out.reshape(n_days, n).T


def build_panel(daily: Table, customer_ids: np.ndarray | list[int] | None = None,
                start: date | None = None, end: date | None = None) -> Panel:
    """Dense panel of daily_balances rows for customer_ids (default: those in `daily`) over [start, end).

    Arrays are column-major (np.asfortranarray layout): each day's values for all customers are
    contiguous, which makes the per-customer reductions over days vector operations over contiguous memory.
    """
    cust = column(daily, "customer_id").astype(np.int64) if daily.height else np.zeros(0, np.int64)
    ids = np.unique(cust if customer_ids is None else np.asarray(customer_ids, dtype=np.int64))
    day_num = date_days(column(daily, "day")) if daily.height else np.zeros(0, np.int64)
    epoch = date(1970, 1, 1)
    if start is None:
        start = epoch + timedelta(days=int(day_num.min())) if len(day_num) else epoch
    if end is None:
        end = epoch + timedelta(days=int(day_num.max()) + 1) if len(day_num) else start
    n, n_days = len(ids), max((end - start).days, 0)
    col = day_num - epoch_day(start)
    row = index_of(ids, cust)
    keep = (row >= 0) & (col >= 0) & (col < n_days)
    every_row = bool(keep.all())           # the usual case: skip a boolean gather per column
    flat: np.ndarray | None = col * n + row if every_row else col[keep] * n + row[keep]
    # column-major position: all customers of day 0, then day 1, ...; rows already in that order reshape
    if len(flat) == n * n_days and bool(np.all(flat == np.arange(len(flat)))):
        flat = None
    columns: dict[str, np.ndarray] = {}
    for name in PANEL_COLUMNS:
        values = column(daily, name) if daily.height else np.zeros(0, np.float32)
        values = (values if every_row else values[keep]).astype(np.float32, copy=False)
        if name in LEVEL_COLUMNS:
            columns[name] = forward_fill(_dense(values, flat, n, n_days, np.nan))
        else:
            columns[name] = _dense(values, flat, n, n_days, 0.0)
    return Panel(customer_ids=ids, start=start, columns=columns)


@lru_cache(maxsize=64)
def _calendar(as_of: date, days: int) -> tuple[np.ndarray, np.ndarray]:
    """Day of month and month length for each of the `days` days before as_of (read-only, cached per as_of)."""
    dates = np.arange(np.datetime64(as_of - timedelta(days=days)), np.datetime64(as_of), dtype="datetime64[D]")
    month = dates.astype("datetime64[M]")
    dom = (dates - month.astype("datetime64[D]")).astype(np.int64) + 1
    dim = ((month + 1).astype("datetime64[D]") - month.astype("datetime64[D]")).astype(np.int64)
    dom.flags.writeable = False
    dim.flags.writeable = False
    return dom, dim


def window(panel: Panel, as_of: date, days: int = WINDOW_DAYS) -> Window:
    """The `days` days strictly before as_of: views into the panel when it covers them, padded copies otherwise."""
    hi = (as_of - panel.start).days
    lo = hi - days
    columns: dict[str, np.ndarray] = {}
    for name, arr in panel.columns.items():
        if lo >= 0 and hi <= panel.n_days:
            columns[name] = arr[:, lo:hi]
            continue
        # the panel does not reach back (or forward) far enough: pad as build_panel would fill
        level = name in LEVEL_COLUMNS
        out = np.full((panel.n_customers, days), np.nan if level else 0.0, dtype=np.float32, order="F")
        src_lo, src_hi = max(lo, 0), min(hi, panel.n_days)
        if src_lo < src_hi:
            out[:, src_lo - lo:src_hi - lo] = arr[:, src_lo:src_hi]
        if level and hi > panel.n_days > 0:
            # days after the panel's last day carry its last known level (which is still before as_of)
            out[:, max(panel.n_days - lo, 0):] = arr[:, -1][:, None]
        columns[name] = out
    dom, dim = _calendar(as_of, days)
    return Window(customer_ids=panel.customer_ids, as_of=as_of, columns=columns, day_of_month=dom,
                  days_in_month=dim)
