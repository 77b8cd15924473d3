"""The simulated calendar: day indices, day of month, weekday, calendar months and monthly due dates."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from functools import cached_property

import numpy as np

# the last simulated day of the default demo: fixed, so a seed alone reproduces the data
DEFAULT_END = date(2026, 10, 31)
# due dates are scheduled this far past the data end (the "pending" instalments)
HORIZON_DAYS = 31
_EPOCH = date(1970, 1, 1)


@dataclass(frozen=True)
class Timeline:
    """Days 0..days-1 ending on `end`; arrays are indexed by day index."""

    end: date
    days: int

    @property
    def start(self) -> date:
        return self.end - timedelta(days=self.days - 1)

    def date_of(self, day: int) -> date:
        """The calendar date of a day index (may lie past the end)."""
        return self.start + timedelta(days=int(day))

    @cached_property
    def epoch_day0(self) -> int:
        return (self.start - _EPOCH).days

    @cached_property
    def _dates(self) -> np.ndarray:
        return np.datetime64(self.start, "D") + np.arange(self.days + HORIZON_DAYS)

    @cached_property
    def dom(self) -> np.ndarray:
        """Day of month (1..31) for days 0..days+HORIZON-1."""
        d = self._dates
        return (d - d.astype("datetime64[M]")).astype(np.int64) + 1

    @cached_property
    def weekday(self) -> np.ndarray:
        """Weekday (0 = Monday) for days 0..days-1."""
        # 1970-01-01 was a Thursday (3)
        return ((self._dates[: self.days].astype(np.int64) + 3) % 7).astype(np.int8)

    @cached_property
    def month_first(self) -> np.ndarray:
        """Day index of the 1st of each calendar month touching [start, end + HORIZON] (first may be < 0)."""
        months = np.arange(np.datetime64(self.start, "M"), np.datetime64(self._dates[-1], "M") + 2)
        return (months.astype("datetime64[D]") - np.datetime64(self.start, "D")).astype(np.int64)

    @cached_property
    def month_of(self) -> np.ndarray:
        """Calendar-month index (into month_first) of each day 0..days+HORIZON-1."""
        return np.searchsorted(self.month_first, np.arange(self.days + HORIZON_DAYS), side="right") - 1

    @property
    def n_months(self) -> int:
        """Calendar months touched by the simulated days (not the horizon)."""
        return int(self.month_of[self.days - 1]) + 1

    def month_days(self) -> np.ndarray:
        """Simulated days falling in each calendar month 0..n_months-1 (partial first/last months are short)."""
        return np.bincount(self.month_of[: self.days], minlength=self.n_months)

    def due_days(self, day_of_month: np.ndarray) -> np.ndarray:
        """Day index of each customer's due date in every calendar month: shape (n, months incl. horizon)."""
        return self.month_first[None, :] + day_of_month.astype(np.int64)[:, None] - 1
