"""Small vectorised helpers shared by the feature families; every function works row-wise over customers."""

from __future__ import annotations

from datetime import date

import numpy as np
import polars as pl

_EPOCH = date(1970, 1, 1)
NULL_DAY = np.iinfo(np.int32).max  # a null date: later than any real day (e.g. "not paid yet")


def ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """num / den, NaN where the denominator is zero or undefined."""
    # dividing by NaN instead of 0 gives NaN without a warning, in two cheap operations
    return np.asarray(num, dtype=np.float64) / np.where(den == 0, np.nan, den)


def nan_to_zero(x: np.ndarray) -> np.ndarray:
    """x with NaN as 0 (cheaper than np.nan_to_num, which also clamps infinities: features never hold any)."""
    return np.where(np.isnan(x), 0.0, x)


def rate_ratio(recent: np.ndarray, recent_days: int | np.ndarray, base: np.ndarray,
               base_days: int | np.ndarray) -> np.ndarray:
    """Daily rate in the recent period over the daily rate in the baseline; NaN without a baseline."""
    return ratio(recent / recent_days, base / base_days)


def epoch_day(d: date) -> int:
    """d as days since 1970-01-01 (the integer form dates take in the arrays)."""
    return (d - _EPOCH).days


def date_days(values: pl.Series | np.ndarray) -> np.ndarray:
    """A Date column as int64 days since 1970-01-01, NULL_DAY where null (Series.to_numpy is the cheap path)."""
    arr = values if isinstance(values, np.ndarray) else values.to_numpy()
    if arr.dtype.kind != "M":
        # an all-null column from an empty or untyped load
        return np.full(len(arr), NULL_DAY, dtype=np.int64)
    days = arr.astype("datetime64[D]").astype(np.int64)
    return np.where(np.isnat(arr), NULL_DAY, days)


def tail(x: np.ndarray, days: int) -> np.ndarray:
    """Row sums over the last `days` columns (the days just before as_of)."""
    return x[:, -days:].sum(axis=1, dtype=np.float64)


def head(x: np.ndarray, days: int) -> np.ndarray:
    """Row sums over the first `days` columns (the oldest part of the window)."""
    return x[:, :days].sum(axis=1, dtype=np.float64)


def last_true(mask: np.ndarray) -> np.ndarray:
    """Column index of the last True in each row, -1 where there is none."""
    rev = mask[:, ::-1]
    idx = mask.shape[1] - 1 - rev.argmax(axis=1)
    return np.where(rev.any(axis=1), idx, -1)


def days_since(mask: np.ndarray) -> np.ndarray:
    """Days from the last True column to as_of (1 = the day before as_of), NaN where there is none."""
    idx = last_true(mask)
    return np.where(idx >= 0, mask.shape[1] - idx, np.nan)


def masked_median(values: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Median of values[row] where mask is True, per row; NaN for rows with no True."""
    vals = np.broadcast_to(values, mask.shape)
    ordered = np.sort(np.where(mask, vals, np.inf), axis=1)
    k = mask.sum(axis=1)
    rows = np.arange(mask.shape[0])
    lo = ordered[rows, np.maximum((k - 1) // 2, 0)]
    hi = ordered[rows, np.maximum(k // 2, 0)]
    return np.where(k > 0, (lo + hi) / 2.0, np.nan)


def slope(y: np.ndarray) -> np.ndarray:
    """Least-squares slope of each row against day number (units per day)."""
    t = np.arange(y.shape[1], dtype=np.float64)
    t -= t.mean()
    # centred t sums to zero, so the slope needs no mean of y; t @ y.T suits the column-major panel
    return (t @ y.T) / float(t @ t)


def drawdowns(y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(largest fall from a running peak, largest fall as a share of that peak) per row.

    The share is NaN for a row whose peak never rose above zero; a row that never falls gives 0.
    """
    if y.shape[0] < 256:
        # few customers: numpy's accumulate is a handful of calls
        peak = np.maximum.accumulate(y, axis=1)
        fall = peak - y
        rel = np.where(peak > 0, fall / np.where(peak > 0, peak, 1.0), 0.0)
        return fall.max(axis=1), np.where(peak[:, -1] > 0, rel.max(axis=1), np.nan)
    # many customers: a loop over the days beats accumulate along a column-major axis (strided reads)
    peak = y[:, 0].astype(np.float64)
    worst = np.zeros(y.shape[0])
    worst_rel = np.zeros(y.shape[0])
    for j in range(1, y.shape[1]):
        np.maximum(peak, y[:, j], out=peak)
        fall = peak - y[:, j]
        np.maximum(worst, fall, out=worst)
        np.maximum(worst_rel, np.where(peak > 0, fall / np.where(peak > 0, peak, 1.0), 0.0), out=worst_rel)
    return worst, np.where(peak > 0, worst_rel, np.nan)


def block_sums(x: np.ndarray, block: int) -> np.ndarray:
    """Sums over consecutive `block`-day blocks ending at as_of: [n, window // block], oldest first."""
    w = x.shape[1]
    return np.stack([x[:, w - (k + 1) * block:w - k * block].sum(axis=1, dtype=np.float64)
                     for k in range(w // block)][::-1], axis=1)


def cv(blocks: np.ndarray) -> np.ndarray:
    """Coefficient of variation across each row's blocks (std / mean), NaN where the mean is zero."""
    return ratio(blocks.std(axis=1), blocks.mean(axis=1))
