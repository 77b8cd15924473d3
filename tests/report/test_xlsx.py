"""Spreadsheets people download: typed cells, dates as dates, money formatted, header frozen, every column
explained on the "Column meanings" sheet; CSV that reads back to the same rows; text is never run as a formula."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime

import openpyxl
import pandas as pd
import pytest

from predelinquency.report.xlsx import FORMATS, MEANINGS_SHEET, csv_bytes, workbook

FRAME = pd.DataFrame({
    "Customer": [17, 4],
    "Name": ["Ada Ng", "=HYPERLINK(\"http://x\",\"click\")"],
    "PD": [0.1234, float("nan")],
    "Expected loss": [1234.5, 0.0],
    "Due": [date(2026, 3, 1), None],
    "Made at": [pd.Timestamp("2026-03-01 09:30", tz="UTC"), pd.NaT],
    "Contacts": pd.array([3, None], dtype="Int64"),
    "Open": [True, False],
})
MEANINGS = {c: f"what {c} means" for c in FRAME.columns}


def _book(data: bytes) -> openpyxl.Workbook:
    return openpyxl.load_workbook(io.BytesIO(data))


def test_cells_are_typed_dates_are_dates_and_money_is_formatted():
    ws = _book(workbook([("Queue", FRAME)], MEANINGS, {"PD": "percent", "Expected loss": "money"}))["Queue"]
    assert [c.value for c in ws[1]] == list(FRAME.columns)
    assert all(c.font.bold for c in ws[1]) and ws.freeze_panes == "A2" and ws.auto_filter.ref == "A1:H3"
    row = ws[2]
    assert row[0].value == 17 and row[0].data_type == "n"
    assert row[2].value == pytest.approx(0.1234) and row[2].number_format == FORMATS["percent"]
    assert row[3].value == 1234.5 and row[3].number_format == FORMATS["money"] and "€" in row[3].number_format
    assert row[4].is_date and row[4].value.date() == date(2026, 3, 1) and row[4].number_format == "yyyy-mm-dd"
    assert row[5].is_date and row[5].value == datetime(2026, 3, 1, 9, 30)  # UTC, as stored
    assert row[6].value == 3 and row[7].value is True
    blank = ws[3]
    assert blank[2].value is None and blank[4].value is None and blank[5].value is None and blank[6].value is None


def test_text_that_looks_like_a_formula_stays_text():
    ws = _book(workbook([("Queue", FRAME)], MEANINGS))["Queue"]
    assert ws["B3"].data_type == "s" and ws["B3"].value == FRAME.at[1, "Name"]
    flat = csv_bytes(FRAME).decode("utf-8-sig")
    assert "'=HYPERLINK" in flat


def test_the_meanings_sheet_names_every_column_of_every_sheet():
    other = pd.DataFrame({"Customer": [1], "Segment": ["retail"]})
    meanings = MEANINGS | {"Segment": "customer segment"}
    book = _book(workbook([("Queue", FRAME), ("Queue", other)], meanings))
    assert book.sheetnames == ["Queue", "Queue (2)", MEANINGS_SHEET]
    listed = list(book[MEANINGS_SHEET].iter_rows(values_only=True))
    assert listed[0] == ("Sheet", "Column", "Meaning")
    assert listed[1:] == [("Queue", c, meanings[c]) for c in FRAME.columns] + [
        ("Queue (2)", c, meanings[c]) for c in other.columns]


def test_a_column_without_a_meaning_or_an_unknown_format_is_refused():
    with pytest.raises(ValueError, match="Open"):
        workbook([("Queue", FRAME)], {c: "x" for c in FRAME.columns if c != "Open"})
    with pytest.raises(ValueError, match="dollars"):
        workbook([("Queue", FRAME)], MEANINGS, {"PD": "dollars"})


def test_sheet_names_are_made_valid():
    book = _book(workbook([("Plan: 2026/03/01 [today]?", FRAME.head(0)), ("x" * 40, FRAME.head(0))], MEANINGS))
    assert book.sheetnames[0] == "Plan  2026 03 01  today"[:31] and len(book.sheetnames[1]) == 31
    assert book.worksheets[0].max_row == 1  # an empty table keeps its header


def test_csv_reads_back_to_the_same_rows():
    rows = list(csv.reader(io.StringIO(csv_bytes(FRAME).decode("utf-8-sig"))))
    assert rows[0] == list(FRAME.columns)
    assert rows[1] == ["17", "Ada Ng", "0.1234", "1234.5", "2026-03-01", "2026-03-01T09:30:00", "3", "True"]
    assert rows[2][2:7] == ["", "0.0", "", "", ""]
    assert csv_bytes(FRAME).startswith(b"\xef\xbb\xbf")  # Excel reads UTF-8 (€, accents) with the mark


def test_aware_datetimes_become_utc():
    frame = pd.DataFrame({"At": [datetime(2026, 3, 1, 11, 0, tzinfo=UTC).astimezone()]})
    ws = _book(workbook([("T", frame)], {"At": "when"}))["T"]
    assert ws["A2"].value == datetime(2026, 3, 1, 11, 0)
