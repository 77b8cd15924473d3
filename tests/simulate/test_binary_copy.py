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
    copy_binary,
    encode,
    numeric2,
    text_type,
)


def test_every_column_type_round_trips(conn: Connection):
    conn.execute(text("CREATE TEMP TABLE t (i bigint, s smallint, f double precision, d date, ts timestamptz, "
                      "amount numeric(12, 2), label text)"))
    cents = np.array([0, 1, -1, 123456, -9_999_999_999, 99_999_999_999, 100, -50])
    n = len(cents)
    epoch_day = (date(2026, 10, 31) - date(1970, 1, 1)).days
    rows = copy_binary(conn, encode("t", [
        ("i", INT8, np.arange(n) - 3), ("s", INT2, np.arange(n)), ("f", FLOAT8, cents / 100.0),
        ("d", DATE, np.full(n, epoch_day - PG_EPOCH_DAYS)),
        ("ts", TIMESTAMPTZ, np.full(n, ((epoch_day - PG_EPOCH_DAYS) * 86400 + 3661) * 1_000_000)),
        ("amount", NUMERIC2, numeric2(cents)), ("label", text_type("café"), "café")], n))
    assert rows == n
    got = conn.execute(text("SELECT i, s, f, d, ts, amount, label FROM t ORDER BY s")).all()
    for k, row in enumerate(got):
        assert row.i == k - 3 and row.s == k and row.f == cents[k] / 100
        assert row.d == date(2026, 10, 31)
        assert row.ts == datetime(2026, 10, 31, 1, 1, 1, tzinfo=UTC)
        assert row.amount == Decimal(int(cents[k])) / 100
        assert row.label == "café"
