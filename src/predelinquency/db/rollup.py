"""The daily rollup: daily_balances recomputed from transactions for a range of days, in SQL.

Rules (the synthetic generator's daily rows follow the same ones, see predelinquency.simulate.daily):
- a day is the UTC calendar date of `ts`; only `posted` transactions move money, `failed` ones are counted
  in failed_debits;
- transactions are current-account movements; a `savings_transfer` is money between the current and the
  savings account (amount < 0: into savings), so it moves both balances and savings_out is its negation;
- money out is stored positive; balances are carried from the previous day's row, or from the accounts'
  opening_balance when there is none (the customer's first rolled-up day);
- every customer gets a row for every day, with or without transactions;
- a refresh may be limited to some customers (an upload of back-dated transactions): the others' rows stay.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import Connection, text

# (column, SQL aggregate over the day's posted transactions `t`); money out negated to be positive
_POSTED = "t.status = 'posted'"
_SUMS = {
    "inflow": "t.amount > 0",
    "outflow": "t.amount < 0",
    "salary_in": "t.category = 'salary'",
    "transfer_in": "t.category = 'transfer_in'",
    "lending_app_in": "t.category = 'lending_app_credit'",
    "essential_out": "t.category IN ('groceries', 'utilities', 'rent', 'transport', 'health')",
    "discretionary_out": "t.category IN ('dining', 'entertainment', 'shopping', 'travel', 'subscriptions')",
    "utility_out": "t.category = 'utilities'",
    "atm_out": "t.category = 'atm_withdrawal'",
    "gambling_out": "t.category = 'gambling'",
    "lending_app_out": "t.category = 'lending_app_repayment'",
    "debt_service_out": "t.category IN ('loan_instalment', 'card_repayment')",
    "savings_out": "t.category = 'savings_transfer'",
}
_NEGATED = {"outflow", "essential_out", "discretionary_out", "utility_out", "atm_out", "gambling_out",
            "lending_app_out", "debt_service_out", "savings_out"}
_COUNTS = {
    "txn_count": _POSTED,
    "card_count": f"{_POSTED} AND t.channel = 'card'",
    "online_count": f"{_POSTED} AND t.channel = 'online'",
    "atm_count": f"{_POSTED} AND t.channel = 'atm'",
    "gambling_count": f"{_POSTED} AND t.category = 'gambling'",
    "failed_debits": "t.status = 'failed'",
}
COLUMNS = ("customer_id", "day", "balance", "savings_balance", *_SUMS, *_COUNTS)

_flows = ",\n".join(
    [f"        sum(t.amount) FILTER (WHERE {_POSTED}) AS net"]
    + [f"        {'-' if c in _NEGATED else ''}sum(t.amount) FILTER (WHERE {_POSTED} AND {cond}) AS {c}"
       for c, cond in _SUMS.items()]
    + [f"        count(*) FILTER (WHERE {cond}) AS {c}" for c, cond in _COUNTS.items()]
)
_outputs = ",\n".join(
    ["    (g.balance0 + sum(coalesce(g.net, 0)) OVER w)::float8 AS balance",
     "    (g.savings0 + sum(coalesce(g.savings_out, 0)) OVER w)::float8 AS savings_balance"]
    + [f"    coalesce(g.{c}, 0)::float8 AS {c}" for c in _SUMS]
    + [f"    coalesce(g.{c}, 0)::smallint AS {c}" for c in _COUNTS]
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
           f.net, {", ".join(f"f.{c}" for c in (*_SUMS, *_COUNTS))}
    FROM opening o
    CROSS JOIN generate_series(CAST(:lo AS date), CAST(:hi AS date), interval '1 day') AS d(day)
    LEFT JOIN flows f ON f.customer_id = o.customer_id AND f.day = d.day::date
)
SELECT g.customer_id, g.day,
{_outputs}
FROM grid g
WINDOW w AS (PARTITION BY g.customer_id ORDER BY g.day)
"""

_cols = ", ".join(COLUMNS)
_updates = ", ".join(f"{c} = EXCLUDED.{c}" for c in COLUMNS[2:])
_UPSERT = (f"INSERT INTO daily_balances ({_cols})\n{ROLLUP_SELECT}\n"
           f"ON CONFLICT (customer_id, day) DO UPDATE SET {_updates}")
_distinct = " OR ".join(f"r.{c} IS DISTINCT FROM d.{c}" for c in COLUMNS[2:])
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
    """The newest day in the daily rollup, or None when there is no data."""
    return conn.execute(text("SELECT max(day) FROM daily_balances")).scalar()


def refresh_daily_balances(conn: Connection, lo: date, hi: date, customer_ids: list[int] | None = None) -> int:
    """Number of daily_balances rows written (inserted or replaced) for days lo..hi inclusive.

    Runs in the caller's transaction. Balances carry forward from the row of the day before lo, so a range
    must run to the last rolled-up day (the nightly job passes the new days). customer_ids limits the
    refresh to those customers.
    """
    _check(lo, hi)
    conn.execute(text("SELECT pde_ensure_partitions('daily_balances', :lo, :hi)"), {"lo": lo, "hi": hi})
    return conn.execute(text(_UPSERT), {"lo": lo, "hi": hi, "ids": customer_ids}).rowcount


def rollup_mismatches(conn: Connection, lo: date, hi: date) -> int:
    """Customer-days in lo..hi whose stored daily_balances row is missing or differs from the SQL rollup."""
    _check(lo, hi)
    return int(conn.execute(text(_MISMATCHES), {"lo": lo, "hi": hi, "ids": None}).scalar_one())
