"""The spreadsheets people download: an Excel workbook with typed cells and a "Column meanings" sheet, and CSV."""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Any

import numpy as np
import pandas as pd
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

MEANINGS_SHEET = "Column meanings"
CURRENCY = "€"  # the dashboard's currency (dashboard/ui.CURRENCY)
# number formats by kind of column; dates and times get theirs from the value's type
FORMATS = {
    "money": f'"{CURRENCY}"#,##0.00;-"{CURRENCY}"#,##0.00',
    "percent": "0.00%",
    "decimal": "0.0000",
    "integer": "#,##0",
    "points": "+0.00%;-0.00%;0.00%",  # a difference of two rates
}
DATE_FORMAT = "yyyy-mm-dd"
DATETIME_FORMAT = "yyyy-mm-dd hh:mm"
MAX_WIDTH = 60
# a text cell starting with one of these is a formula to Excel (and to CSV readers): written as plain text
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_INVALID_SHEET_CHARS = str.maketrans({c: " " for c in "[]:*?/\\"})


def cell_value(value: Any) -> Any:
    """A DataFrame value as the cell's typed value: numbers, booleans, dates, text; missing as an empty cell."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, pd.Timestamp):
        value = value.to_pydatetime()
    if isinstance(value, datetime) and value.tzinfo is not None:
        # Excel has no time zones: times are written in UTC, as the database keeps them
        return value.astimezone(UTC).replace(tzinfo=None)
    if isinstance(value, bool | int | float | date | str):
        return value
    return str(value)


def _sheet_title(name: str, taken: set[str]) -> str:
    """A valid, unique sheet title (at most 31 characters, none of []:*?/\\)."""
    base = (name.translate(_INVALID_SHEET_CHARS).strip() or "Sheet")[:31]
    title, n = base, 2
    while title.lower() in taken:
        suffix = f" ({n})"
        title, n = base[: 31 - len(suffix)] + suffix, n + 1
    taken.add(title.lower())
    return title


def _write_sheet(ws: Worksheet, frame: pd.DataFrame, formats: Mapping[str, str]) -> None:
    """The frame as a table: a bold frozen header with a filter, typed cells, formats per column."""
    columns = [str(c) for c in frame.columns]
    ws.append(columns)
    for cell in ws[1]:
        cell.font = Font(bold=True)
        cell.alignment = Alignment(wrap_text=True, vertical="top")
    widths = [len(c) for c in columns]
    number_formats = [FORMATS.get(formats.get(c, "")) for c in columns]
    for row_index, values in enumerate(frame.itertuples(index=False, name=None), start=2):
        for col_index, raw in enumerate(values, start=1):
            value = cell_value(raw)
            cell = ws.cell(row=row_index, column=col_index, value=value)
            if isinstance(value, str):
                if value.startswith("="):
                    cell.data_type = "s"  # openpyxl would store it as a formula
                widths[col_index - 1] = max(widths[col_index - 1], min(len(value), MAX_WIDTH))
            elif isinstance(value, datetime):
                cell.number_format = DATETIME_FORMAT
                widths[col_index - 1] = max(widths[col_index - 1], 16)
            elif isinstance(value, date):
                cell.number_format = DATE_FORMAT
                widths[col_index - 1] = max(widths[col_index - 1], 10)
            elif isinstance(value, int | float) and not isinstance(value, bool):
                fmt = number_formats[col_index - 1]
                if fmt:
                    cell.number_format = fmt
                widths[col_index - 1] = max(widths[col_index - 1], 12)
    for i, width in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(i)].width = min(max(width, 8) + 2, MAX_WIDTH)
    ws.freeze_panes = "A2"
    if columns:
        ws.auto_filter.ref = f"A1:{get_column_letter(len(columns))}{max(len(frame) + 1, 1)}"


def workbook(sheets: list[tuple[str, pd.DataFrame]], meanings: dict[str, str],
             formats: Mapping[str, str] | None = None) -> bytes:
    """An .xlsx file: one sheet per (name, frame), then a "Column meanings" sheet naming every column.

    formats: column name → "money", "percent", "decimal", "integer" or "points" (dates are dates by their type).
    Every column of every sheet must have a meaning: a spreadsheet leaves the page its headers were explained on.
    """
    missing = sorted({str(c) for _, frame in sheets for c in frame.columns} - set(meanings))
    if missing:
        raise ValueError(f"no meaning given for the columns {', '.join(missing)}")
    formats = formats or {}
    unknown = sorted(set(formats.values()) - set(FORMATS))
    if unknown:
        raise ValueError(f"unknown column formats {', '.join(unknown)}; known: {', '.join(FORMATS)}")
    book = Workbook()
    book.remove(book.active)
    taken = {MEANINGS_SHEET.lower()}
    listed: list[tuple[str, str, str]] = []
    for name, frame in sheets:
        ws = book.create_sheet(_sheet_title(name, taken))
        _write_sheet(ws, frame, formats)
        listed += [(ws.title, str(c), meanings[str(c)]) for c in frame.columns]
    _write_sheet(book.create_sheet(MEANINGS_SHEET), pd.DataFrame(listed, columns=["Sheet", "Column", "Meaning"]), {})
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _csv_text(value: Any) -> Any:
    """A value as CSV writes it: dates in ISO form, missing empty, text that a spreadsheet would run as a formula
    quoted with a leading apostrophe."""
    value = cell_value(value)
    if value is None:
        return ""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def csv_bytes(frame: pd.DataFrame) -> bytes:
    """The frame as CSV in UTF-8 with a byte-order mark (so Excel reads € and accents), header first."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([str(c) for c in frame.columns])
    for values in frame.itertuples(index=False, name=None):
        writer.writerow([_csv_text(v) for v in values])
    return out.getvalue().encode("utf-8-sig")
