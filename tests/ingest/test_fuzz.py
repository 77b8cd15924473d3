"""Property: whatever bytes a bank file holds, the validator names rows and the database never raises.

Generated CSV files (valid values mixed with random text, NUL and other control characters, surrogates
written as bytes, invalid UTF-8, huge strings, extreme numbers, dates far out of range, stray quotes and
ragged rows) go through parse and through validate_and_upload into the rolled-back test database: the only
outcomes allowed are rows loaded or UploadRejected naming rows, never a database error.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from sqlalchemy import Connection

from predelinquency.ingest.load import REFUSED, UploadRejected
from predelinquency.ingest.schemas import SPECS, Column
from predelinquency.ingest.validate import RowError, parse
from predelinquency.operations.uploads import validate_and_upload
from tests.ingest.test_load import ACCOUNTS, CUSTOMERS

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_REFERENCES = {"customer_id": (501, 501, 501, 777), "account_id": (5010, 5011, 5011, 5020, 7777)}

junk_text = st.one_of(
    st.text(st.characters(codec=None), max_size=30).map(lambda s: s.encode("utf-8", "surrogatepass")),
    st.binary(max_size=30),
    st.sampled_from([b"\x00", b"a\x00b", b"\xed\xb2\x80", b"\xff\xfe", b"\xef\xbb\xbf", b"\r", b'"', b'a"b',
                     b"\\N", b"NULL", b" ", b"\t"]),
    st.sampled_from([199, 200, 201, 5_000, 300_000]).map(lambda n: b"x" * n),
)
extreme_numbers = st.one_of(
    st.integers(min_value=-(2**80), max_value=2**80).map(lambda i: str(i).encode()),
    st.floats().map(lambda f: repr(f).encode()),
    st.sampled_from([b"1e308", b"-1e-320", b"9999999999.995", b"999999999999.99", b"0x10", b"1_000", b"+5", b"-0"]),
)
far_dates = st.one_of(
    st.dates(min_value=date(1, 1, 1), max_value=date(9999, 12, 31)).map(lambda d: d.isoformat().encode()),
    st.sampled_from([b"1900-01-01", b"9999-12-31", b"0001-01-01", b"2026-02-30", b"+10000-01-01", b"2026-03-01"]),
    st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30), timezones=st.just(UTC))
    .map(lambda d: d.isoformat().encode()),
)


def _plausible(col: Column, key: str) -> st.SearchStrategy[bytes]:
    """A value of the column that may well pass: so some files reach the database."""
    if col.name == key:  # new ids, mostly
        return st.integers(500, 20_000).map(lambda i: str(i).encode())
    if col.name in _REFERENCES:  # customer 501 and its accounts, mostly
        return st.sampled_from(_REFERENCES[col.name]).map(lambda i: str(i).encode())
    if col.choices:
        return st.sampled_from(col.choices).map(str.encode)
    if col.kind in ("date", "datetime"):
        return st.dates(min_value=date(2026, 1, 1), max_value=date(2026, 6, 30)).map(lambda d: d.isoformat().encode())
    if col.kind in ("int", "float"):
        lo, hi = int(col.min if col.min is not None else 0), int(min(col.max if col.max is not None else 10**6, 10**6))
        return st.integers(lo, hi).map(lambda i: str(i).encode())
    if col.kind == "bool":
        return st.sampled_from([b"true", b"no"])
    return st.text("abc XYZ-'é", min_size=1, max_size=20).map(str.encode)


def _field(col: Column, key: str) -> st.SearchStrategy[bytes]:
    """One value: plausible nine times in ten (so whole rows reach the database), else hostile; quoted or not."""
    hostile = st.one_of(junk_text, extreme_numbers, far_dates, st.just(b""))
    value = st.integers(0, 9).flatmap(lambda k: hostile if k == 9 else _plausible(col, key))
    return st.tuples(value, st.integers(0, 4)).map(
        lambda vq: b'"' + vq[0].replace(b'"', b'""') + b'"' if vq[1] == 4 else vq[0])


@st.composite
def csv_file(draw: st.DrawFn, kind: str) -> bytes:
    """A header (of the spec's columns, sometimes one unknown) and up to four rows, sometimes ragged."""
    columns = list(SPECS[kind].columns)
    names = [c.name.encode() for c in columns] + ([b"colour"] if draw(st.integers(0, 20)) == 20 else [])
    rows = []
    for _ in range(draw(st.integers(0, 4))):
        fields = [draw(_field(c, SPECS[kind].key)) for c in columns]
        fields = fields[:len(fields) - (draw(st.integers(0, 10)) == 10)] + (
            [b"surplus"] if draw(st.integers(0, 10)) == 10 else [])
        rows.append(b",".join(fields))
    ending = draw(st.sampled_from([b"\n", b"\r\n", b"\r"]))
    bom = draw(st.sampled_from([b"", b"", b"\xef\xbb\xbf"]))
    return bom + ending.join([b",".join(names), *rows]) + draw(st.sampled_from([b"", ending, ending * 2]))


def _well_formed(errors: list[RowError]) -> None:
    for e in errors:
        assert isinstance(e.line, int) and e.line >= 1 and isinstance(e.problem, str) and e.problem
        assert not _CONTROL.search(e.problem) and not _CONTROL.search(e.column), e
        assert not e.problem.startswith(REFUSED), f"the validator let through a row the database refused: {e}"


@settings(max_examples=150, deadline=None)
@given(kind=st.sampled_from(list(SPECS)), data=st.data())
def test_parse_names_rows_and_never_raises(kind: str, data: st.DataObject):
    p = parse(kind, data.draw(csv_file(kind)))
    _well_formed(p.errors)


@pytest.fixture
def bank(conn: Connection) -> Connection:
    validate_and_upload(conn, "cli:fuzz", {"customers": CUSTOMERS, "accounts": ACCOUNTS})
    return conn


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(files=st.dictionaries(st.sampled_from(list(SPECS)), st.none(), min_size=1, max_size=2), data=st.data())
def test_uploads_load_or_name_rows_never_a_database_error(bank: Connection, files: dict, data: st.DataObject):
    sources = {kind: data.draw(csv_file(kind), label=kind) for kind in files}
    with bank.begin_nested() as savepoint:
        try:
            counts = validate_and_upload(bank, "cli:fuzz", sources)
        except UploadRejected as exc:
            event("rejected")
            assert exc.errors and all(exc.errors.values())
            for errors in exc.errors.values():
                _well_formed(errors)
        else:
            event("loaded")
            assert set(counts) == set(sources)
        savepoint.rollback()
