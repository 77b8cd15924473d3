"""CSV validation: every bad value is reported with its line, column and problem; good files type cleanly."""

from __future__ import annotations

from datetime import UTC, date, datetime

from predelinquency.ingest.validate import RowError, parse, summarise

CUSTOMERS = b"""customer_id,full_name,age,employment_type,segment,region,monthly_income,salary_day,tenure_months
1,Ada Lovelace,36,salaried,mass,North,3200.50,25,48
2,Alan Turing,41,contract,affluent,South,5100,,120
"""


def test_a_valid_file_is_typed_with_defaults_for_optional_columns():
    p = parse("customers", CUSTOMERS)
    assert p.ok and p.frame.height == 2
    row = p.frame.row(1, named=True)
    assert row["customer_id"] == 2 and row["salary_day"] is None and row["monthly_income"] == 5100.0
    assert row["is_active"] is True  # absent optional column takes its default


def test_each_bad_value_is_reported_with_line_column_and_problem():
    data = CUSTOMERS + b"""3,Grace Hopper,abc,salaried,mass,West,100,5,10
4,,30,pirate,mass,East,-5,40,1
1,Duplicate Id,30,salaried,gold,East,10,5,1
"""
    errors = parse("customers", data).errors
    assert RowError(4, "age", "not a whole number: 'abc'") in errors
    assert RowError(5, "full_name", "value is missing") in errors
    assert any(e.line == 5 and e.column == "employment_type" and "'pirate' is not one of" in e.problem for e in errors)
    assert any(e.line == 5 and e.column == "monthly_income" and "below the minimum 0" in e.problem for e in errors)
    assert any(e.line == 5 and e.column == "salary_day" and "above the maximum 28" in e.problem for e in errors)
    assert RowError(6, "customer_id", "duplicate customer_id 1 (first at line 2)") in errors
    assert any(e.line == 6 and e.column == "segment" for e in errors)
    assert errors == sorted(errors)


def test_header_problems_stop_before_row_checks():
    errors = parse("customers", b"customer_id,full_name,colour\n1,A,red\n").errors
    assert RowError(1, "age", "required column is missing") in errors
    assert any(e.column == "colour" and e.problem.startswith("unknown column") for e in errors)
    assert all(e.line == 1 for e in errors)


def test_timestamps_dates_and_cross_column_rules():
    txns = (b"txn_id,customer_id,account_id,ts,amount,category,channel\n"
            b"1,1,10,2026-03-01T10:00:00Z,-12.5,groceries,card\n"
            b"2,1,10,2026-03-01 11:00:00+02:00,20,salary,transfer\n"
            b"3,1,10,2026-03-02,1e3,salary,transfer\n"
            b"4,1,10,yesterday,NaN,groceries,card\n")
    p = parse("transactions", txns)
    assert [(e.line, e.column) for e in p.errors] == [(5, "amount"), (5, "ts")]
    ts = p.frame.get_column("ts").to_list()
    assert ts[0] == datetime(2026, 3, 1, 10, tzinfo=UTC) and ts[1] == datetime(2026, 3, 1, 9, tzinfo=UTC)
    assert ts[2] == datetime(2026, 3, 2, tzinfo=UTC)
    pays = (b"payment_id,customer_id,account_id,due_date,amount_due,paid_date,status\n"
            b"1,1,11,2026-03-05,100,2026-03-04,paid\n"
            b"2,1,11,2026-03-05,100,,late\n"
            b"3,1,11,2026-03-05,100,2026-03-07,paid\n"
            b"4,1,11,2026-02-30,100,,pending\n")
    errors = parse("payments", pays).errors
    assert [(e.line, e.column) for e in errors] == [(3, "paid_date"), (4, "paid_date"), (5, "due_date")]
    assert parse("payments", pays).frame.get_column("due_date").to_list()[0] == date(2026, 3, 5)


def test_unreadable_file_and_summary_sentences():
    assert parse("customers", b"").errors == [RowError(1, "", "the file is empty (no header row)")]
    errors = [RowError(88, "amount", "not a number: 'x'"), RowError(90, "amount", "not a number: 'y'")]
    assert summarise(errors) == ["column amount: 2 row(s) — not a number, first at line 88"]


HEADER = b"customer_id,full_name,age,employment_type,segment,region,monthly_income,tenure_months\n"


def _row(i: int, name: bytes = b"Ada", region: bytes = b"North") -> bytes:
    return b"%d,%s,36,salaried,mass,%s,3200,48\n" % (i, name, region)


def test_text_the_database_cannot_store_is_named_per_row():
    data = (HEADER + _row(1, b"A\x00da") + _row(2, b"Bell\x07") + _row(3, b"Caf\xe9") + _row(4, b"D\xed\xb2\x80")
            + _row(5, b"E" * 1_000_000) + _row(6, region=b"R" * 101) + _row(7, b"\xc3\x89lodie \xe2\x9c\x93"))
    p = parse("customers", data)
    problems = {(e.line, e.column): e.problem for e in p.errors}
    assert problems[(2, "full_name")].startswith("contains a control character")
    assert problems[(3, "full_name")].startswith("contains a control character")
    assert problems[(4, "full_name")].startswith("contains bytes that are not UTF-8")
    assert problems[(5, "full_name")].startswith("contains bytes that are not UTF-8")  # a surrogate as bytes
    assert problems[(6, "full_name")] == "is 1000000 characters long; at most 200 are allowed"
    assert problems[(7, "region")] == "is 101 characters long; at most 100 are allowed"
    assert len(p.errors) == 6  # one problem per bad value: not also "missing" or "not text"
    assert p.frame.filter(p.frame["__line"] == 8)["full_name"].item() == "Élodie ✓"


def test_quoted_line_breaks_keep_line_numbers_and_blank_lines_are_no_rows():
    data = HEADER + b'1,"Ada\nLovelace",36,salaried,mass,North,3200,48\n\n2,Bob,old,salaried,mass,North,3200,48\n\n'
    errors = parse("customers", data).errors
    assert [(e.line, e.column) for e in errors] == [(2, "full_name"), (5, "age")]


def test_malformed_csv_names_its_line_instead_of_failing_the_file():
    ragged = HEADER + _row(1) + b"2,Bob,36,salaried,mass,North,3200,48,surplus\n" + _row(3, b"x") + b"4,Al,"
    p = parse("customers", ragged)
    assert [(e.line, e.problem) for e in p.errors if e.column == ""] == [(3, "has 9 fields; the header has 8")]
    assert [(e.line, e.column) for e in p.errors if e.column] == [
        (5, c) for c in ("age", "employment_type", "monthly_income", "region", "segment", "tenure_months")]
    unclosed = HEADER + _row(1) + b'2,"Bob,36,salaried,mass,North,3200,48\n' + _row(3)
    assert parse("customers", unclosed).errors == [
        RowError(3, "", "not readable as CSV from this line on: a quoted field is never closed")]
    assert parse("customers", HEADER + b'1,"Ada"x,36,salaried,mass,North,3200,48\n').errors[0].line == 2


def test_encodings_and_line_ends():
    good = HEADER + _row(1) + _row(2)
    for variant in (good.replace(b"\n", b"\r\n"), good.replace(b"\n", b"\r"), b"\xef\xbb\xbf" + good):
        p = parse("customers", variant)
        assert p.ok and p.frame.height == 2 and p.frame["region"].to_list() == ["North", "North"]
    utf16 = parse("customers", good.decode().encode("utf-16"))
    assert utf16.errors == [RowError(1, "", "the file is UTF-16 text; save it as CSV UTF-8")]
    named = parse("customers", b"customer_id\x00,full_name\n1,A\n").errors
    assert any(e.column == "customer_id\ufffd" and e.problem.startswith("unknown column") for e in named)


def test_years_no_calendar_holds_are_not_dates():
    txns = (b"txn_id,customer_id,account_id,ts,amount,category,channel\n"
            b"1,1,10,0-1-1,-5,groceries,card\n2,1,10,+10000-01-01T00:00:00Z,-5,groceries,card\n")
    assert [(e.line, e.problem) for e in parse("transactions", txns).errors] == [
        (2, "not a timestamp (ISO 8601): '0-1-1'"), (3, "not a timestamp (ISO 8601): '+10000-01-01T00:00:00Z'")]
