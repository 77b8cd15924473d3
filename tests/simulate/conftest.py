"""A small generated bank shared by the read-only simulate tests (generated once per session)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import polars as pl
import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from predelinquency.settings import Settings
from predelinquency.simulate import generate_bank

CUSTOMERS, DAYS, SEED = 400, 180, 11


@dataclass
class Bank:
    engine: Engine
    result: dict[str, Any]

    @property
    def start(self) -> date:
        return date.fromisoformat(self.result["start_date"])

    @property
    def end(self) -> date:
        return date.fromisoformat(self.result["end_date"])


@pytest.fixture(scope="session")
def bank(pg_server_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Bank]:
    """400 customers over 180 days (seed 11), committed to a database of its own."""
    name = f"pde_bank_{uuid.uuid4().hex[:8]}"
    admin = create_engine(pg_server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f"CREATE DATABASE {name} TEMPLATE pde_template"))
    url = make_url(pg_server_url).set(database=name).render_as_string(hide_password=False)
    engine = create_engine(url)
    settings = Settings(data_dir=tmp_path_factory.mktemp("bank"), database_url=url)
    result = generate_bank(engine, settings, customers=CUSTOMERS, days=DAYS, seed=SEED)
    yield Bank(engine, result)
    engine.dispose()
    with admin.connect() as c:
        c.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
    admin.dispose()


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
