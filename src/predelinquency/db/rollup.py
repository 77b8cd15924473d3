"""The daily rollup: daily_balances recomputed from transactions for a range of days, in SQL.

Which transactions each flow column sums or counts is the table predelinquency.domain.daily.FLOWS, from
which this SQL is generated (the synthetic generator's daily rows, predelinquency.simulate.daily, too). Beyond it:
- a day is the UTC calendar date of `ts`; only `posted` transactions move money;
- transactions are current-account movements; a `savings_transfer` is money between the current and the
  savings account (amount < 0: into savings), so it moves both balances;
- balances are carried from the previous day's row, or from the accounts' opening_balance when there is
  none (the customer's first rolled-up day);
- every customer gets a row for every day, with or without transactions;
- a refresh may be limited to some customers (an upload of back-dated transactions): the others' rows stay.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import Connection, text

from predelinquency.domain.daily import DAILY_COLUMNS, FLOW_COLUMNS, FLOWS, SAVINGS_FLOW, Flow


def _condition(f: Flow) -> str:
    """The SQL filter selecting a flow's transactions `t` (vocabulary words: constant text)."""
    parts = [f"t.status = '{f.status}'"]
    if len(f.categories) == 1:
        parts.append(f"t.category = '{f.categories[0]}'")
    elif f.categories:
        listed = ", ".join(f"'{c}'" for c in f.categories)
        parts.append(f"t.category IN ({listed})")
    if f.channel is not None:
        parts.append(f"t.channel = '{f.channel}'")
    if f.direction is not None:
        parts.append("t.amount > 0" if f.direction == "in" else "t.amount < 0")
    return " AND ".join(parts)


def _aggregate(f: Flow) -> str:
    if f.kind == "count":
        return f"count(*) FILTER (WHERE {_condition(f)}) AS {f.column}"
    return f"{'-' if f.negate else ''}sum(t.amount) FILTER (WHERE {_condition(f)}) AS {f.column}"


_flows = ",\n".join(["        sum(t.amount) FILTER (WHERE t.status = 'posted') AS net"]
                     + [f"        {_aggregate(f)}" for f in FLOWS])
_outputs = ",\n".join(
    ["    (g.balance0 + sum(coalesce(g.net, 0)) OVER w)::float8 AS balance",
     f"    (g.savings0 + sum(coalesce(g.{SAVINGS_FLOW}, 0)) OVER w)::float8 AS savings_balance"]
    + [f"    coalesce(g.{f.column}, 0)::{'smallint' if f.kind == 'count' else 'float8'} AS {f.column}" for f in FLOWS]
)
# :lo, :hi and :ids (NULL: every customer) are bound parameters; everything else above is constant text
ROLLUP_SELECT = f"""
WITH flows AS (
    SELECT t.customer_id, (t.ts AT TIME ZONE 'UTC')::date AS day,
{_flows}
    FROM transactions t
    WHERE t.ts >= CAST(:lo AS date)::timestamp AT TIME ZONE 'UTC'
      AND t.ts < (CAST(:hi AS date) + 1)::timestamp AT TIME ZONE 'UTC'
      AND (CAST(:ids AS bigint[]) IS NULL OR t.customer_id = ANY(CAST(:ids AS bigint[])))
    GROUP BY 1, 2
), opening AS (
    SELECT c.customer_id,
           coalesce(round(p.balance::numeric, 2), a.current_open, 0) AS balance0,
           coalesce(round(p.savings_balance::numeric, 2), a.savings_open, 0) AS savings0
    FROM customers c
    LEFT JOIN (SELECT customer_id,
                      sum(opening_balance) FILTER (WHERE product_type = 'current') AS current_open,
                      sum(opening_balance) FILTER (WHERE product_type = 'savings') AS savings_open
               FROM accounts GROUP BY customer_id) a ON a.customer_id = c.customer_id
    LEFT JOIN daily_balances p ON p.customer_id = c.customer_id AND p.day = CAST(:lo AS date) - 1
    WHERE CAST(:ids AS bigint[]) IS NULL OR c.customer_id = ANY(CAST(:ids AS bigint[]))
), grid AS (
    SELECT o.customer_id, d.day::date AS day, o.balance0, o.savings0,
           f.net, {", ".join(f"f.{c}" for c in FLOW_COLUMNS)}
    FROM opening o
    CROSS JOIN generate_series(CAST(:lo AS date), CAST(:hi AS date), interval '1 day') AS d(day)
    LEFT JOIN flows f ON f.customer_id = o.customer_id AND f.day = d.day::date
)
SELECT g.customer_id, g.day,
{_outputs}
FROM grid g
WINDOW w AS (PARTITION BY g.customer_id ORDER BY g.day)
"""

_cols = ", ".join(DAILY_COLUMNS)
_updates = ", ".join(f"{c} = EXCLUDED.{c}" for c in DAILY_COLUMNS[2:])
_UPSERT = (f"INSERT INTO daily_balances ({_cols})\n{ROLLUP_SELECT}\n"
           f"ON CONFLICT (customer_id, day) DO UPDATE SET {_updates}")
_distinct = " OR ".join(f"r.{c} IS DISTINCT FROM d.{c}" for c in DAILY_COLUMNS[2:])
_MISMATCHES = f"""
WITH r AS ({ROLLUP_SELECT})
SELECT count(*) FROM r
LEFT JOIN daily_balances d ON d.customer_id = r.customer_id AND d.day = r.day
    AND d.day BETWEEN CAST(:lo AS date) AND CAST(:hi AS date)  -- lets the planner skip other partitions
WHERE d.customer_id IS NULL OR {_distinct}
"""


def _check(lo: date, hi: date) -> None:
    if hi < lo:
        raise ValueError(f"rollup range is empty: {lo} .. {hi}")


def latest_data_day(conn: Connection) -> date | None:
    """The newest day in the daily rollup, or None when there is no data: from the watermark the writers keep
    (sql/015), found in the table once when there is none yet."""
    kept = conn.execute(text("SELECT last_day FROM rollup_watermark")).scalar()
    if kept is not None:
        return kept
    last = conn.execute(text("SELECT max(day) FROM daily_balances")).scalar()
    if last is not None:
        set_watermark(conn, last)
    return last


def set_watermark(conn: Connection, last_day: date) -> None:
    """Records that the rollup reaches last_day (never moves the watermark back: a back-dated refresh keeps it)."""
    conn.execute(text("INSERT INTO rollup_watermark (last_day) VALUES (:d) ON CONFLICT (only_row) DO UPDATE "
                      "SET last_day = greatest(rollup_watermark.last_day, EXCLUDED.last_day)"), {"d": last_day})


def refresh_daily_balances(conn: Connection, lo: date, hi: date, customer_ids: list[int] | None = None) -> int:
    """Number of daily_balances rows written (inserted or replaced) for days lo..hi inclusive.

    Runs in the caller's transaction. Balances carry forward from the row of the day before lo, so a range
    must run to the last rolled-up day (the nightly job passes the new days). customer_ids limits the
    refresh to those customers.
    """
    _check(lo, hi)
    conn.execute(text("SELECT pde_ensure_partitions('daily_balances', :lo, :hi)"), {"lo": lo, "hi": hi})
    written = conn.execute(text(_UPSERT), {"lo": lo, "hi": hi, "ids": customer_ids}).rowcount
    if written:  # a watermark only where one is kept: a first back-dated refresh must not set it to an old day
        conn.execute(text("UPDATE rollup_watermark SET last_day = greatest(last_day, :hi)"), {"hi": hi})
    return written


def rollup_mismatches(conn: Connection, lo: date, hi: date) -> int:
    """Customer-days in lo..hi whose stored daily_balances row is missing or differs from the SQL rollup."""
    _check(lo, hi)
    return int(conn.execute(text(_MISMATCHES), {"lo": lo, "hi": hi, "ids": None}).scalar_one())
