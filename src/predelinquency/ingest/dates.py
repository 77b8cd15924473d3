"""The plausible dates of a bank file: a row dated far outside the bank's data is rejected, not loaded.

A transaction dated 1900 or 9999 would make a partition for every month in between and a daily row for
every day; a year outside the data is a typo or a sentinel, never history. The range comes from the data
itself (the rollup's first and latest days) and the `ingest` settings:
- transactions' ts and payments' paid_date: from `max_days_before_first_data` before the first data day (on a
  bank with no data yet, `earliest_date`) to the business date plus `max_days_after_business_date`;
- payments' due_date: from the same first day to `max_days_ahead_due` after the business date (instalments
  are scheduled ahead);
- accounts' opened_on: no earlier than the oldest customer's birth (business date minus the maximum age)
  and no later than the transactions' last day.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import polars as pl
from sqlalchemy import Connection, text

from predelinquency.ingest.schemas import CUSTOMERS
from predelinquency.ingest.validate import LINE_COLUMN, RowError
from predelinquency.settings import Ingest

_MAX_AGE_YEARS = int(next(c.max for c in CUSTOMERS.columns if c.name == "age") or 100)


@dataclass(frozen=True)
class Bound:
    """One end of a column's accepted range and, in words, where it comes from."""

    day: date
    why: str


@dataclass(frozen=True)
class DateLimits:
    """Accepted (first, last) date per (file kind, column); last_data_day is the rollup's latest day, if any."""

    ranges: dict[tuple[str, str], tuple[Bound, Bound]]
    last_data_day: date | None

    def errors(self, kind: str, frame: pl.DataFrame) -> list[RowError]:
        """A RowError per date of this file outside its column's range."""
        out: list[RowError] = []
        for (k, column), (lo, hi) in self.ranges.items():
            if k != kind or column not in frame.columns or frame.height == 0:
                continue
            day = pl.col(column).dt.date() if frame.schema[column] != pl.Date else pl.col(column)
            hits = frame.select(LINE_COLUMN, day.alias("d")).filter((pl.col("d") < lo.day) | (pl.col("d") > hi.day))
            out += [RowError(line, column, f"{d} is before {lo.day}, the earliest date accepted ({lo.why})"
                             if d < lo.day else f"{d} is after {hi.day}, the latest date accepted ({hi.why})")
                    for line, d in hits.iter_rows()]
        return out


def data_days(conn: Connection) -> tuple[date | None, date | None]:
    """The rollup's first and latest days (None, None on a bank with no data yet), in one pass."""
    first, last = conn.execute(text("SELECT min(day), max(day) FROM daily_balances")).one()
    return first, last


def date_limits(conn: Connection, settings: Ingest, today: date | None = None) -> DateLimits:
    """The accepted date range of each dated column, from the bank's data and the ingest settings."""
    first, last = data_days(conn)
    if last is None:
        business = today or datetime.now(UTC).date()
        lo = Bound(settings.earliest_date, "ingest.earliest_date, as the bank has no data yet")
        why_business = f"today, {business}, as the bank has no data yet"
    else:
        business = last + timedelta(days=1)
        assert first is not None
        lo = Bound(first - timedelta(days=settings.max_days_before_first_data),
                   f"{settings.max_days_before_first_data} days before the first data day {first}, "
                   "ingest.max_days_before_first_data")
        why_business = f"the business date {business}"
    after = settings.max_days_after_business_date
    hi = Bound(business + timedelta(days=after), f"{why_business} plus {after} day(s), "
               "ingest.max_days_after_business_date")
    due = Bound(business + timedelta(days=settings.max_days_ahead_due),
                f"{why_business} plus {settings.max_days_ahead_due} days, ingest.max_days_ahead_due")
    opened = Bound(_years_before(business, _MAX_AGE_YEARS),
                   f"{_MAX_AGE_YEARS} years before {business}: no customer is older")
    return DateLimits({
        ("transactions", "ts"): (lo, hi),
        ("payments", "due_date"): (lo, due),
        ("payments", "paid_date"): (lo, hi),
        ("accounts", "opened_on"): (opened, hi),
    }, last)


def _years_before(day: date, years: int) -> date:
    """The same calendar day `years` earlier (28 February for 29 February)."""
    try:
        return day.replace(year=day.year - years)
    except ValueError:
        return day.replace(year=day.year - years, day=28)
