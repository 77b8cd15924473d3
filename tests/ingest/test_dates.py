"""Dates outside the bank's plausible range are rejected per row, before any partition is made."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import Connection, text

from predelinquency.db.rollup import refresh_daily_balances
from predelinquency.ingest.load import UploadRejected
from predelinquency.operations.uploads import validate_and_upload
from predelinquency.settings import Ingest, SettingsError, get_settings
from tests.ingest.test_load import ACCOUNTS, CUSTOMERS

TXN_HEADER = b"txn_id,customer_id,account_id,ts,amount,category,channel\n"
PAY_HEADER = b"payment_id,customer_id,account_id,due_date,amount_due,paid_date,amount_paid,status\n"
ACC_HEADER = b"account_id,customer_id,product_type,due_day,outstanding,opened_on\n"


def _txns(*days: str) -> bytes:
    return TXN_HEADER + b"".join(b"%d,501,5010,%sT10:00:00Z,-5,groceries,card\n" % (9300 + i, d.encode())
                                 for i, d in enumerate(days))


def _partitions(conn: Connection) -> int:
    query = "SELECT count(*) FROM pg_inherits WHERE inhparent = 'transactions'::regclass"
    return conn.execute(text(query)).scalar_one()


def _rejected(conn: Connection, files: dict[str, bytes], settings: Ingest | None = None) -> dict:
    with pytest.raises(UploadRejected) as exc:
        validate_and_upload(conn, "cli:test", files, settings=settings)
    return {(kind, e.line, e.column): e.problem for kind, errs in exc.value.errors.items() for e in errs}


@pytest.fixture
def bank(conn: Connection) -> Connection:
    """Customers 501 and 502 with data rolled up from 1 to 5 March 2026: the business date is 6 March."""
    validate_and_upload(conn, "cli:test", {"customers": CUSTOMERS, "accounts": ACCOUNTS})
    conn.execute(text("SELECT pde_ensure_partitions('transactions', DATE '2026-03-01', DATE '2026-03-31')"))
    refresh_daily_balances(conn, date(2026, 3, 1), date(2026, 3, 5), [501, 502])
    return conn


def test_far_dates_on_an_empty_bank_are_rejected_rows_and_make_no_partition(conn):
    validate_and_upload(conn, "cli:test", {"customers": CUSTOMERS, "accounts": ACCOUNTS})
    before = _partitions(conn)
    problems = _rejected(conn, {"transactions": _txns("2026-03-01", "1900-01-01", "9999-12-31")})
    assert set(problems) == {("transactions", 3, "ts"), ("transactions", 4, "ts")}
    assert problems[("transactions", 3, "ts")].startswith("1900-01-01 is before 2000-01-01, the earliest date accepted")
    assert problems[("transactions", 4, "ts")].startswith("9999-12-31 is after")
    assert _partitions(conn) == before
    assert conn.execute(text("SELECT count(*) FROM transactions")).scalar_one() == 0


def test_the_range_follows_the_banks_data(bank):
    problems = _rejected(bank, {"transactions": _txns("2025-02-28", "2026-03-08")})
    assert problems[("transactions", 2, "ts")] == (
        "2025-02-28 is before 2025-03-01, the earliest date accepted (365 days before the first data day "
        "2026-03-01, ingest.max_days_before_first_data)")
    assert problems[("transactions", 3, "ts")] == (
        "2026-03-08 is after 2026-03-07, the latest date accepted (the business date 2026-03-06 plus 1 day(s), "
        "ingest.max_days_after_business_date)")
    ok = _txns("2025-03-01", "2026-03-07")  # a year before the first data day; the business date plus a day
    assert validate_and_upload(bank, "cli:test", {"transactions": ok}) == {"transactions": 2}


def test_payments_may_fall_due_ahead_and_accounts_be_old(bank):
    payments = PAY_HEADER + (b"7101,501,5011,2027-03-07,120,,0,pending\n"   # business date + 366 days
                             b"7102,501,5011,2027-03-08,120,,0,pending\n"
                             b"7103,501,5011,2026-03-10,120,2026-03-08,120,late\n")  # paid in the future
    accounts = ACC_HEADER + (b"5030,501,savings,,0,1926-03-06\n"    # 100 years before the business date
                             b"5031,501,savings,,0,1926-03-05\n5032,501,savings,,0,2026-03-08\n")
    problems = _rejected(bank, {"payments": payments, "accounts": accounts})
    assert sorted(problems) == [("accounts", 3, "opened_on"), ("accounts", 4, "opened_on"),
                                ("payments", 3, "due_date"), ("payments", 4, "paid_date")]
    assert "no customer is older" in problems[("accounts", 3, "opened_on")]


def test_the_range_is_configurable(bank):
    narrow = Ingest(max_days_before_first_data=10, max_days_after_business_date=0)
    problems = _rejected(bank, {"transactions": _txns("2026-02-19", "2026-02-18", "2026-03-06", "2026-03-07")},
                         narrow)
    assert sorted(problems) == [("transactions", 3, "ts"), ("transactions", 5, "ts")]


@pytest.mark.parametrize(("key", "value"), [("EARLIEST_DATE", "1899-12-31"), ("MAX_DAYS_AFTER_BUSINESS_DATE", "-1"),
                                            ("MAX_DAYS_BEFORE_FIRST_DATA", "many")])
def test_ingest_settings_are_checked(monkeypatch, key, value):
    monkeypatch.setenv(f"PDE_INGEST__{key}", value)
    get_settings.cache_clear()
    try:
        with pytest.raises(SettingsError, match=f"ingest.{key.lower()}"):
            get_settings()
    finally:
        get_settings.cache_clear()
