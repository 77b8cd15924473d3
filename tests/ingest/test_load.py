"""Loading uploads: all files in one transaction with an audit row, or nothing when any row is bad."""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest
from sqlalchemy import Connection, text
from sqlalchemy.exc import IntegrityError

from predelinquency.db.rollup import refresh_daily_balances, rollup_mismatches
from predelinquency.errors import Forbidden
from predelinquency.ingest.load import REFUSED, UploadRejected, parse_all
from predelinquency.ingest.validate import Parsed
from predelinquency.operations.uploads import upload, validate_and_upload
from predelinquency.operations.users import create_user

CUSTOMERS = (b"customer_id,full_name,age,employment_type,segment,region,monthly_income,tenure_months\n"
             b"501,Ada Lovelace,36,salaried,mass,North,3200,48\n"
             b"502,Alan Turing,41,contract,affluent,South,5100,120\n")
ACCOUNTS = (b"account_id,customer_id,product_type,due_day,outstanding,opened_on\n"
            b"5010,501,current,,0,2020-01-01\n5011,501,credit_card,12,900,2021-05-01\n"
            b"5020,502,current,,0,2019-03-01\n")
TXNS = (b"txn_id,customer_id,account_id,ts,amount,category,channel,status\n"
        b"9001,501,5010,2026-03-01T10:00:00Z,-12.50,groceries,card,posted\n"
        b"9002,502,5020,2026-03-02T09:00:00Z,2500,salary,transfer,\n")
PAYMENTS = (b"payment_id,customer_id,account_id,due_date,amount_due,paid_date,amount_paid,days_late,status\n"
            b"7001,501,5011,2026-03-12,120,2026-03-11,120,0,paid\n")


@pytest.fixture
def manager(conn: Connection):
    return create_user(conn, "ingest_mgr", "a long enough password", "manager", "cli:test")


def _count(conn: Connection, table: str) -> int:
    return conn.execute(text(f"SELECT count(*) FROM {table} WHERE customer_id IN (501, 502)")).scalar_one()


def test_good_files_load_together_with_one_audit_row(conn, manager):
    counts = validate_and_upload(conn, manager, {"customers": CUSTOMERS, "accounts": ACCOUNTS,
                                               "transactions": TXNS, "payments": PAYMENTS},
                               {"customers": "customers.csv"})
    assert counts == {"customers": 2, "accounts": 3, "transactions": 2, "payments": 1}
    assert [_count(conn, t) for t in ("customers", "accounts", "transactions", "payments")] == [2, 3, 2, 1]
    status = conn.execute(text("SELECT status FROM transactions WHERE txn_id = 9002")).scalar_one()
    assert status == "posted"
    audit = conn.execute(text("SELECT actor, after, details FROM action_audit_log WHERE action = 'upload_data'")).one()
    assert audit.actor == "ingest_mgr" and audit.after["rows"]["transactions"] == 2
    assert audit.details["files"] == {"customers": "customers.csv"}


def test_one_bad_row_loads_nothing_and_reports_every_problem(conn, manager):
    bad_txns = TXNS + b"9003,501,5010,2026-03-03T09:00:00Z,twelve,groceries,card,posted\n"
    with pytest.raises(UploadRejected) as exc:
        validate_and_upload(conn, manager, {"customers": CUSTOMERS, "accounts": ACCOUNTS, "transactions": bad_txns})
    assert [(e.line, e.column) for e in exc.value.errors["transactions"]] == [(4, "amount")]
    assert "nothing was loaded" in str(exc.value)
    assert _count(conn, "customers") == 0 and _count(conn, "transactions") == 0


def test_existing_ids_unknown_references_and_foreign_accounts_are_errors(conn, manager):
    validate_and_upload(conn, manager, {"customers": CUSTOMERS, "accounts": ACCOUNTS})
    again = CUSTOMERS.replace(b"502,Alan", b"503,Alan")
    txns = (b"txn_id,customer_id,account_id,ts,amount,category,channel\n"
            b"9101,501,5020,2026-03-01T10:00:00Z,-5,groceries,card\n"
            b"9102,999,5010,2026-03-01T10:00:00Z,-5,groceries,card\n"
            b"9103,501,4242,2026-03-01T10:00:00Z,-5,groceries,card\n")
    with pytest.raises(UploadRejected) as exc:
        validate_and_upload(conn, manager, {"customers": again, "transactions": txns})
    assert [str(e.problem) for e in exc.value.errors["customers"]] == [
        "customer_id 501 already exists in the database"]
    problems = {(e.line, e.column): e.problem for e in exc.value.errors["transactions"]}
    assert problems[(2, "account_id")] == "account 5020 belongs to customer 502, not 501"
    assert problems[(3, "customer_id")].startswith("customer 999 does not exist")
    assert problems[(4, "account_id")].startswith("account 4242 does not exist")
    assert conn.execute(text("SELECT count(*) FROM customers WHERE customer_id = 503")).scalar_one() == 0


def test_officers_may_not_upload(conn):
    officer = create_user(conn, "ingest_off", "a long enough password", "officer", "cli:test")
    with pytest.raises(Forbidden):
        validate_and_upload(conn, officer, {"customers": CUSTOMERS})


def test_back_dated_transactions_reach_the_rolled_up_days(conn, manager):
    validate_and_upload(conn, manager, {"customers": CUSTOMERS, "accounts": ACCOUNTS})
    conn.execute(text("SELECT pde_ensure_partitions('transactions', DATE '2026-03-01', DATE '2026-03-31')"))
    refresh_daily_balances(conn, date(2026, 3, 1), date(2026, 3, 5), [501, 502])  # rolled up to 5 March
    late = (b"txn_id,customer_id,account_id,ts,amount,category,channel\n"
            b"9201,501,5010,2026-03-02T10:00:00Z,-40,gambling,online\n"  # before the rollup's last day
            b"9202,502,5020,2026-03-06T10:00:00Z,-15,dining,card\n")    # after it: the nightly's job
    validate_and_upload(conn, manager, {"transactions": late})
    balances = conn.execute(text("SELECT day, balance, gambling_out FROM daily_balances WHERE customer_id = 501 "
                                 "ORDER BY day")).all()
    assert [(b.day.day, b.balance, b.gambling_out) for b in balances] == [
        (1, 0, 0), (2, -40, 40), (3, -40, 0), (4, -40, 0), (5, -40, 0)]  # the balance carries forward
    assert rollup_mismatches(conn, date(2026, 3, 1), date(2026, 3, 5)) == 0
    assert conn.execute(text("SELECT max(day) FROM daily_balances")).scalar_one() == date(2026, 3, 5)
    details = conn.execute(text("SELECT details FROM action_audit_log WHERE action = 'upload_data' "
                                "ORDER BY audit_id DESC LIMIT 1")).scalar_one()
    assert details["daily_balances_recomputed"] == 4  # customer 501, 2 to 5 March


def test_text_the_database_would_refuse_is_a_named_row_not_a_database_error(conn, manager):
    bad = (CUSTOMERS + b"503,Nul\x00Name,30,salaried,mass,North,100,1\n"
           b"504," + b"N" * 1_000_000 + b",30,salaried,mass,North,100,1\n")
    with pytest.raises(UploadRejected) as exc:
        validate_and_upload(conn, manager, {"customers": bad})
    assert [(e.line, e.column) for e in exc.value.errors["customers"]] == [(4, "full_name"), (5, "full_name")]
    assert _count(conn, "customers") == 0


def test_the_schema_holds_the_validators_text_limits(conn):
    from predelinquency.ingest.schemas import CUSTOMERS as SPEC

    insert = text("INSERT INTO customers (customer_id, full_name, age, employment_type, segment, region, "
                  "monthly_income, tenure_months) VALUES (:id, :name, 30, 'salaried', 'mass', :region, 1, 1)")
    limits = {c.name: c.max_length for c in SPEC.columns if c.max_length}
    assert set(limits) == {"full_name", "region"}
    values = {c: "x" * n for c, n in limits.items()}
    conn.execute(insert, {"id": 601, "name": values["full_name"], "region": values["region"]})
    for column in limits:
        longer = {**values, column: values[column] + "x"}
        with pytest.raises(IntegrityError, match=f"customers_{column}_length"), conn.begin_nested():
            conn.execute(insert, {"id": 602, "name": longer["full_name"], "region": longer["region"]})


def test_a_row_the_database_refuses_despite_the_validator_is_named(conn, manager):
    """The last line of defence: a gap in the validator still names the row, never shows the database's error."""
    parsed = parse_all({"customers": CUSTOMERS})
    frame = parsed["customers"].frame
    parsed["customers"] = Parsed("customers", frame.with_columns(
        pl.when(pl.col("customer_id") == 502).then(pl.lit("Nul\x00")).otherwise(pl.col("full_name"))
        .alias("full_name")), [])
    with pytest.raises(UploadRejected) as exc:
        upload(conn, manager, parsed)
    [error] = exc.value.errors["customers"]
    assert error.line == 3 and error.problem.startswith(REFUSED)  # an encoding error names no column
    assert _count(conn, "customers") == 0
