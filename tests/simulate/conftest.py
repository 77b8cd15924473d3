"""The session's demo bank (tests/conftest.py) as the simulate tests read it: its generation summary and panel.

The generator's properties are checked on the bank the other tests already build, not on a second one.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import polars as pl
import pytest
from sqlalchemy import create_engine, text

from tests.support.bank import Bank, DemoBank
from tests.support.db import cloned_database


@pytest.fixture(scope="session")
def bank(pg_server_url: str, demo_bank: DemoBank) -> Iterator[Bank]:
    """A copy of the demo bank (400 customers over 200 days, seed 3), for tests that read or roll back."""
    with cloned_database(pg_server_url, demo_bank.template) as url:
        engine = create_engine(url)
        yield Bank(engine, demo_bank.generate_summary)
        engine.dispose()


# one row per customer and weekly as_of: the realised label, true_pd, and the 30 days before as_of
_PANEL = """
WITH asof AS (
    SELECT d::date AS as_of FROM generate_series(CAST(:lo AS date), CAST(:hi AS date), interval '7 days') d
), lab AS (
    SELECT c.customer_id, c.salary_day, a.as_of,
           EXISTS (SELECT 1 FROM payments p WHERE p.customer_id = c.customer_id AND p.status = 'missed'
                   AND p.due_date > a.as_of AND p.due_date <= a.as_of + 30) AS missed
    FROM customers c CROSS JOIN asof a
)
SELECT l.customer_id, l.as_of, l.missed, lb.true_pd,
       sum(d.gambling_count) AS gambling, sum(d.atm_out) AS atm_out, sum(d.failed_debits) AS failed_debits,
       sum(d.lending_app_in) AS lending_app_in, sum(d.savings_out) AS savings_out,
       (SELECT count(*) FROM transactions t WHERE t.customer_id = l.customer_id AND t.category = 'salary'
          AND t.ts >= l.as_of - 30 AND t.ts < l.as_of AND extract(day FROM t.ts) <> l.salary_day) AS late_salaries
FROM lab l
JOIN labels lb ON lb.customer_id = l.customer_id AND lb.as_of = l.as_of
JOIN daily_balances d ON d.customer_id = l.customer_id AND d.day >= l.as_of - 30 AND d.day < l.as_of
GROUP BY l.customer_id, l.salary_day, l.as_of, l.missed, lb.true_pd
"""


@pytest.fixture(scope="session")
def panel(bank: Bank) -> pl.DataFrame:
    """Weekly customer windows of the shared bank with a full 30 days before and after as_of."""
    with bank.engine.connect() as conn:
        window = {"lo": bank.start + timedelta(days=30), "hi": bank.end - timedelta(days=30)}
        result = conn.execute(text(_PANEL), window)
        return pl.DataFrame([dict(r._mapping) for r in result], infer_schema_length=None).with_columns(
            pl.exclude("customer_id", "as_of", "missed").cast(pl.Float64))
