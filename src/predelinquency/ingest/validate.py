"""CSV validation with Polars, vectorised: every bad value is reported as (line, column, problem).

Lines are numbered as in a spreadsheet: the header is line 1, the first data row line 2 (files are expected
to hold one record per line). Nothing here touches the database; `load.py` adds the checks that need it
(ids that already exist, references to unknown customers or accounts).
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from predelinquency.domain.vocabulary import CREDIT_PRODUCTS
from predelinquency.ingest.schemas import SPECS, Column, TableSpec

LINE_COLUMN = "__line"
_TRUE = ("true", "t", "yes", "y", "1")
_FALSE = ("false", "f", "no", "n", "0")
DEFAULT_MAX_ERRORS = 5_000
# C0 and C1 control characters and DEL: PostgreSQL text cannot hold NUL, and none belongs in a name or a code
_CONTROL = r"[\x00-\x1f\x7f-\x9f]"
_NOT_UTF8 = "contains bytes that are not UTF-8 text (save the file as CSV UTF-8)"
_HAS_CONTROL = "contains a control character (NUL, tab, line break or similar)"


@dataclass(frozen=True, order=True)
class RowError:
    """One problem in an uploaded file: the line, the column, and what is wrong in the user's terms."""

    line: int
    column: str
    problem: str


@dataclass
class Parsed:
    """A typed frame ready to load (columns in table order, plus the source line) and the problems found."""

    kind: str
    frame: pl.DataFrame
    errors: list[RowError]

    @property
    def ok(self) -> bool:
        return not self.errors


def _errors(df: pl.DataFrame, mask: pl.Expr, column: str, problem: pl.Expr | str) -> list[RowError]:
    """RowErrors for the rows where mask is true; problem may be a per-row string expression."""
    expr = problem if isinstance(problem, pl.Expr) else pl.lit(problem)
    bad = df.filter(mask.fill_null(False)).select(pl.col(LINE_COLUMN), expr.alias("p"))
    return [RowError(line, column, p) for line, p in bad.iter_rows()]


def _shown(c: str) -> pl.Expr:
    """The raw value quoted for a message, shortened so a junk field cannot flood the report."""
    return pl.lit("'") + pl.col(c).str.slice(0, 40) + pl.lit("'")


def _typed(col: Column) -> pl.Expr:
    """The column's raw text converted to its type; unparseable values become null."""
    raw = pl.col(col.name)
    if col.kind == "int":
        return raw.cast(pl.Int64, strict=False)
    if col.kind == "float":
        f = raw.cast(pl.Float64, strict=False)
        return pl.when(f.is_finite()).then(f)
    if col.kind == "date":
        return _calendar(raw.str.to_date("%Y-%m-%d", strict=False))
    if col.kind == "datetime":
        # ISO 8601 with 'T' or space, optional fraction, optional offset or Z; no offset means UTC
        iso = raw.str.replace(r"^(\d{4}-\d{2}-\d{2}) ", "${1}T").str.replace(r"Z$", "+00:00")
        utc = pl.Datetime("us", "UTC")
        return _calendar(pl.coalesce(
            iso.str.to_datetime("%Y-%m-%dT%H:%M:%S%.f%z", strict=False, time_zone="UTC").cast(utc),
            iso.str.to_datetime("%Y-%m-%dT%H:%M:%S%.f", strict=False, time_zone="UTC").cast(utc),
            iso.str.to_date("%Y-%m-%d", strict=False).cast(pl.Datetime("us")).dt.replace_time_zone("UTC"),
        ))
    if col.kind == "bool":
        low = raw.str.to_lowercase()
        return pl.when(low.is_in(_TRUE)).then(True).when(low.is_in(_FALSE)).then(False)
    return raw


def _calendar(day: pl.Expr) -> pl.Expr:
    """The date, or null for a year Polars parses but no calendar (nor Python, nor PostgreSQL) holds: 0, 10000."""
    return pl.when(day.dt.year().is_between(1, 9999)).then(day)


_KIND_WORDS = {"int": "a whole number", "float": "a number", "date": "a date (YYYY-MM-DD)",
               "datetime": "a timestamp (ISO 8601)", "bool": "true or false", "str": "text"}


def _bytes(source: bytes | str | Path) -> bytes:
    """The file's bytes without Excel's UTF-8 byte-order mark, with old Mac line ends (CR only) made LF."""
    data = source if isinstance(source, bytes) else Path(source).read_bytes()
    data = data.removeprefix(b"\xef\xbb\xbf")
    if b"\n" not in data and b"\r" in data:
        data = data.replace(b"\r", b"\n")
    return data


def _read(data: bytes) -> tuple[pl.DataFrame, list[RowError]]:
    """Every field as text (so bad values can be reported, not silently coerced), with its source line.

    Bytes that are not UTF-8 become U+FFFD, reported per value later. Polars reads well-formed files; one it
    refuses (a row with too many fields, a stray quote) is read again by Python's csv module, which names the
    line of each such row instead of failing the whole file.
    """
    try:
        df = pl.read_csv(io.BytesIO(data), infer_schema=False, encoding="utf8-lossy", truncate_ragged_lines=False)
    except pl.exceptions.NoDataError:
        return pl.DataFrame(), [RowError(1, "", "the file is empty (no header row)")]
    except (pl.exceptions.PolarsError, pl.exceptions.PanicException):
        return _read_row_by_row(data)
    if b'"' in data:  # only a quoted field can span lines: count them so each row keeps its source line
        spans = pl.sum_horizontal(pl.col(c).str.count_matches("\n", literal=True).fill_null(0) for c in df.columns)
        first = 2 + sum(c.count("\n") for c in df.columns)
        df = df.with_columns((pl.lit(first, pl.Int64) + (spans + 1).cum_sum() - (spans + 1)).alias(LINE_COLUMN))
    else:
        df = df.with_row_index(LINE_COLUMN, offset=2).with_columns(pl.col(LINE_COLUMN).cast(pl.Int64))
    return df, []


def _read_row_by_row(data: bytes) -> tuple[pl.DataFrame, list[RowError]]:
    """A file Polars refused, read by Python's csv module: rows with too many fields are named, not fatal."""
    reader = csv.reader(io.StringIO(data.decode("utf-8", errors="replace"), newline=""), strict=True)
    errors: list[RowError] = []
    rows: list[list[str | None]] = []
    lines: list[int] = []
    header: list[str] | None = None
    start = 1
    try:
        for record in reader:
            if header is None:
                header = _unique(record)
            elif len(record) > len(header):
                errors.append(RowError(start, "", f"has {len(record)} fields; the header has {len(header)}"))
            elif record:
                rows.append([*record, *([None] * (len(header) - len(record)))])
                lines.append(start)
            start = reader.line_num + 1
    except csv.Error as exc:  # a broken quote or a huge field: nothing after it can be trusted
        reason = "a quoted field is never closed" if "end of data" in str(exc) else printable(str(exc))
        errors.append(RowError(start, "", f"not readable as CSV from this line on: {reason}"))
    if header is None:
        return pl.DataFrame(), [RowError(1, "", "the file is empty (no header row)")]
    columns = {name: [r[i] for r in rows] for i, name in enumerate(header)}
    df = pl.DataFrame(columns, schema=dict.fromkeys(header, pl.String))
    return df.with_columns(pl.Series(LINE_COLUMN, lines, pl.Int64)), errors


def _unique(names: list[str]) -> list[str]:
    """Header names made unique the way Polars does, so a repeated column is reported as unknown."""
    seen: dict[str, int] = {}
    out = []
    for name in names:
        out.append(name if name not in seen else f"{name}_duplicated_{seen[name] - 1}")
        seen[name] = seen.get(name, 0) + 1
    return out


def printable(text: str, limit: int = 60) -> str:
    """Text from the file made safe to show: control characters replaced, shortened."""
    text = re.sub(_CONTROL, "\ufffd", text)
    return text if len(text) <= limit else text[:limit] + "…"


def _header_errors(df: pl.DataFrame, spec: TableSpec) -> list[RowError]:
    errors = [RowError(1, c.name, "required column is missing")
              for c in spec.columns if c.required and c.name not in df.columns]
    known = {*spec.column_names, LINE_COLUMN}
    errors += [RowError(1, printable(c), f"unknown column (expected: {', '.join(spec.column_names)})")
               for c in df.columns if c not in known]
    return errors


def _row_rules(df: pl.DataFrame, spec: TableSpec) -> list[RowError]:
    """Checks across columns of one row, mirroring the table's CHECK constraints."""
    errors: list[RowError] = []
    if spec.name == "accounts":
        credit = pl.col("product_type").is_in(CREDIT_PRODUCTS)
        errors += _errors(df, credit & pl.col("due_day").is_null(), "due_day",
                          "credit products (credit_card, personal_loan) need a due day")
        errors += _errors(df, ~credit & pl.col("due_day").is_not_null(), "due_day",
                          "only credit products have a due day")
    if spec.name == "payments":
        status, paid = pl.col("status"), pl.col("paid_date")
        errors += _errors(df, status.is_in(("paid", "late")) & paid.is_null(), "paid_date",
                          "a paid or late payment needs a paid_date")
        errors += _errors(df, (status == "paid") & (paid > pl.col("due_date")), "paid_date",
                          "status is paid (on time) but paid_date is after due_date; use status late")
    return errors


def _text_problem(col: Column) -> pl.Expr:
    """Why the column's raw text cannot be stored, or null: not UTF-8, a control character, too long."""
    raw = pl.col(col.name)
    problem = (pl.when(raw.str.contains("\ufffd", literal=True)).then(pl.lit(_NOT_UTF8))
               .when(raw.str.contains(_CONTROL)).then(pl.lit(_HAS_CONTROL)))
    if col.max_length is not None:
        problem = problem.when(raw.str.len_chars() > col.max_length).then(
            pl.format(f"is {{}} characters long; at most {col.max_length} are allowed", raw.str.len_chars()))
    return problem


def parse(kind: str, source: bytes | str | Path, max_errors: int = DEFAULT_MAX_ERRORS) -> Parsed:
    """The file as a typed frame for table `kind`, with every problem found (at most max_errors)."""
    spec = SPECS[kind]
    data = _bytes(source)
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return Parsed(kind, pl.DataFrame(), [RowError(1, "", "the file is UTF-16 text; save it as CSV UTF-8")])
    raw, errors = _read(data)
    if raw.width:
        errors += _header_errors(raw, spec)
    if not raw.width:
        return Parsed(kind, pl.DataFrame(), errors or [RowError(1, "", "the file is empty (no header row)")])
    if any(e.line == 1 for e in errors):
        return Parsed(kind, pl.DataFrame(), sorted(errors)[:max_errors])
    df = raw.with_columns(
        *(pl.col(c.name).str.strip_chars() for c in spec.columns if c.name in raw.columns),
        *(pl.lit(None, pl.String).alias(c.name) for c in spec.columns if c.name not in raw.columns),
    ).with_columns(pl.exclude(LINE_COLUMN).replace("", None))
    df = df.filter(~pl.all_horizontal(pl.exclude(LINE_COLUMN).is_null()))  # blank lines hold no record
    for c in spec.columns:  # a value that cannot be stored is reported once, then treated as unreadable
        problem = _text_problem(c)
        errors += _errors(df, problem.is_not_null(), c.name, problem)
        df = df.with_columns(pl.when(problem.is_null()).then(pl.col(c.name)).alias(c.name),
                             (pl.col(c.name).is_not_null() | problem.is_not_null()).alias(f"__present_{c.name}"))

    typed = df.with_columns(_typed(c).alias(f"__t_{c.name}") for c in spec.columns)
    for c in spec.columns:
        value, present = pl.col(f"__t_{c.name}"), pl.col(c.name).is_not_null()
        if c.required:
            errors += _errors(typed, ~pl.col(f"__present_{c.name}"), c.name, "value is missing")
        errors += _errors(typed, present & value.is_null(), c.name,
                          pl.lit(f"not {_KIND_WORDS[c.kind]}: ") + _shown(c.name))
        if c.choices:
            errors += _errors(typed, value.is_not_null() & ~value.is_in(c.choices), c.name,
                              _shown(c.name) + pl.lit(f" is not one of: {', '.join(c.choices)}"))
        if c.min is not None:
            errors += _errors(typed, value < c.min, c.name, _shown(c.name) + pl.lit(f" is below the minimum {c.min:g}"))
        if c.max is not None:
            errors += _errors(typed, value > c.max, c.name, _shown(c.name) + pl.lit(f" is above the maximum {c.max:g}"))

    frame = typed.select(
        pl.col(LINE_COLUMN),
        *(pl.col(f"__t_{c.name}").fill_null(c.default).alias(c.name) if c.default is not None
          else pl.col(f"__t_{c.name}").alias(c.name) for c in spec.columns),
    )
    errors += _row_rules(frame, spec)
    first = frame.group_by(spec.key).agg(pl.col(LINE_COLUMN).min().alias("__first"))
    dup = frame.join(first, on=spec.key, how="left")
    errors += _errors(dup, pl.col(LINE_COLUMN) != pl.col("__first"), spec.key,
                      pl.lit(f"duplicate {spec.key} ") + pl.col(spec.key).cast(pl.String)
                      + pl.lit(" (first at line ") + pl.col("__first").cast(pl.String) + pl.lit(")"))
    errors.sort()
    return Parsed(kind, frame, errors[:max_errors])


def summarise(errors: list[RowError], limit: int = 8) -> list[str]:
    """One sentence per column and problem type, e.g. "column amount: 12 values are not a number, first at line 88"."""
    groups: dict[tuple[str, str], list[int]] = {}
    for e in errors:
        # the problem without the quoted value groups "not a number: 'x'" and "not a number: 'y'"
        problem = e.problem.split(": '")[0] if ": '" in e.problem else e.problem.split("' ", 1)[-1]
        groups.setdefault((e.column, problem), []).append(e.line)
    out = [f"column {col or '(file)'}: {len(lines)} row(s) — {problem}, first at line {min(lines)}"
           for (col, problem), lines in sorted(groups.items(), key=lambda kv: min(kv[1]))]
    return out[:limit]
