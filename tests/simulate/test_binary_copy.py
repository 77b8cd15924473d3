"""Binary COPY payloads round-trip exactly through PostgreSQL."""

from datetime import UTC, date, datetime
from decimal import Decimal

import numpy as np
from sqlalchemy import Connection, text

from predelinquency.simulate.binary_copy import (
    DATE,
    FLOAT8,
    INT2,
    INT8,
    NUMERIC2,
    PG_EPOCH_DAYS,
    TIMESTAMPTZ,
    Vocabulary,
    copy_binary,
    encode,
    numeric2,
)


def test_every_column_type_round_trips(conn: Connection):
    conn.execute(text("CREATE TEMP TABLE t (i bigint, s smallint, f double precision, d date, ts timestamptz, "
                      "amount numeric(12, 2), label text)"))
    cents = np.array([0, 1, -1, 123456, -9_999_999_999, 99_999_999_999, 100, -50])
    vocabulary = ("café", "x", "", "atm")
    codes = np.array([0, 1, 2, 3, 3, 0, 1, 2])  # labels of every length, in row order
    n = len(cents)
    epoch_day = (date(2026, 10, 31) - date(1970, 1, 1)).days
    rows = copy_binary(conn, encode("t", [
        ("i", INT8, np.arange(n) - 3), ("s", INT2, np.arange(n)), ("f", FLOAT8, cents / 100.0),
        ("d", DATE, np.full(n, epoch_day - PG_EPOCH_DAYS)),
        ("ts", TIMESTAMPTZ, np.full(n, ((epoch_day - PG_EPOCH_DAYS) * 86400 + 3661) * 1_000_000)),
        ("amount", NUMERIC2, numeric2(cents)), ("label", Vocabulary(vocabulary), codes)], n))
    assert rows == n
    got = conn.execute(text("SELECT i, s, f, d, ts, amount, label FROM t ORDER BY s")).all()
    for k, row in enumerate(got):
        assert row.i == k - 3 and row.s == k and row.f == cents[k] / 100
        assert row.d == date(2026, 10, 31)
        assert row.ts == datetime(2026, 10, 31, 1, 1, 1, tzinfo=UTC)
        assert row.amount == Decimal(int(cents[k])) / 100
        assert row.label == vocabulary[codes[k]]


def test_a_vocabulary_of_one_width_needs_no_trimming(conn: Connection):
    conn.execute(text("CREATE TEMP TABLE t (k bigint, label text)"))
    yes_no = Vocabulary(("on", "no"))
    copy_binary(conn, encode("t", [("k", INT8, np.arange(3)), ("label", yes_no, np.array([1, 0, 1]))], 3))
    assert conn.execute(text("SELECT label FROM t ORDER BY k")).scalars().all() == ["no", "on", "no"]
