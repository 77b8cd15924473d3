"""The generator's daily rows are exactly what the SQL rollup computes from its transactions, on every day
of a whole generated bank (the generator itself checks only the last day)."""

from sqlalchemy import text

from predelinquency.db.rollup import refresh_daily_balances
from predelinquency.domain.daily import DAILY_COLUMNS
from tests.support.bank import CUSTOMERS, DAYS, Bank

_ALL_ROWS = text(f"SELECT {', '.join(DAILY_COLUMNS)} FROM daily_balances ORDER BY customer_id, day")


def test_generated_daily_rows_equal_the_sql_rollup_on_every_day(bank: Bank):
    with bank.engine.connect() as conn:  # the shared bank: everything below is rolled back
        generated = conn.execute(_ALL_ROWS).all()
        written = refresh_daily_balances(conn, bank.start, bank.end)
        recomputed = conn.execute(_ALL_ROWS).all()
        conn.rollback()
    assert written == len(generated) == len(recomputed) == CUSTOMERS * DAYS
    differ = [(g, r) for g, r in zip(generated, recomputed, strict=True) if g != r]
    assert not differ, f"{len(differ)} customer-days differ; first, generated vs SQL: {differ[0]}"
