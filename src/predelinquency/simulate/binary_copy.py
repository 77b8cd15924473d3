"""PostgreSQL binary COPY payloads built with numpy, for the generator's big tables.

Numeric columns have a fixed width (ints, floats, dates, timestamps, numeric with 2 decimals), so a whole
payload is one structured numpy array: no per-row Python, and the server parses no text (for daily_balances,
mostly floats, parsing is most of what a CSV COPY costs the server). Text columns drawn
from a small vocabulary (`Vocabulary`) get a slot as wide as the longest label; the unused tail of each slot is
cut out of the bytes afterwards with one boolean mask, so rows keep their own order whatever their text.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
from psycopg import sql
from sqlalchemy import Connection

from predelinquency.db.bulk import raw_connection

_HEADER = b"PGCOPY\n\xff\r\n\x00" + b"\x00" * 8   # signature, flags, header extension length
_TRAILER = b"\xff\xff"
PG_EPOCH_DAYS = 10_957                            # 2000-01-01, PostgreSQL's epoch, in Unix days
_WRITE_BYTES = 8 << 20
# numeric with dscale 2 as four base-10000 digits (weight 2): |value| < 10^12, enough for numeric(12, 2);
# the server strips the leading and trailing zero digits
_NUMERIC = np.dtype([("ndigits", ">i2"), ("weight", ">i2"), ("sign", ">u2"), ("dscale", ">i2"),
                     ("digits", ">i2", (4,))])
INT8, INT2, FLOAT8, DATE, TIMESTAMPTZ, NUMERIC2 = ">i8", ">i2", ">f8", ">i4", ">i8", _NUMERIC


@dataclass(frozen=True)
class Vocabulary:
    """A text column whose values are labels[code]: pass the codes as the field's values."""

    labels: tuple[str, ...]

    @cached_property
    def encoded(self) -> np.ndarray:
        return np.array([x.encode() for x in self.labels], np.dtype(f"S{self.width}"))

    @cached_property
    def lengths(self) -> np.ndarray:
        return np.array([len(x.encode()) for x in self.labels], ">i4")

    @cached_property
    def width(self) -> int:
        return int(self.lengths.max())


@dataclass
class Binary:
    """One COPY's worth of rows for `table`, ready to stream."""

    table: str
    columns: tuple[str, ...]
    rows_bytes: np.ndarray  # the encoded rows (uint8), without the COPY header and trailer
    rows: int


def numeric2(cents: np.ndarray) -> np.ndarray:
    """Binary numeric values (2 decimals) for integer amounts in cents."""
    out = np.empty(len(cents), _NUMERIC)
    a = np.abs(cents)
    whole, frac = a // 100, a % 100
    out["ndigits"], out["weight"], out["dscale"] = 4, 2, 2
    out["sign"] = np.where(cents < 0, 0x4000, 0)
    out["digits"] = np.stack([whole // 10**8 % 10**4, whole // 10**4 % 10**4, whole % 10**4, frac * 100], axis=1)
    return out


def encode(table: str, fields: list[tuple[str, np.dtype | str | Vocabulary, object]], rows: int) -> Binary:
    """A payload of `rows` rows; fields are (column, dtype, values or a constant) or (column, Vocabulary, codes)."""
    layout: list[tuple] = [("n", ">i2")]
    for i, (_, dtype, _) in enumerate(fields):
        width = f"S{dtype.width}" if isinstance(dtype, Vocabulary) else dtype
        layout += [(f"len{i}", ">i4"), (f"v{i}", width)]
    arr = np.empty(rows, np.dtype(layout))
    arr["n"] = len(fields)
    unused = []  # (offset, width, lengths) of label slots with bytes to cut
    for i, (_, dtype, values) in enumerate(fields):
        if isinstance(dtype, Vocabulary):
            lengths = dtype.lengths[values]
            arr[f"len{i}"] = lengths
            arr[f"v{i}"] = dtype.encoded[values]
            if (lengths < dtype.width).any():
                unused.append((arr.dtype.fields[f"v{i}"][1], dtype.width, lengths))
        else:
            arr[f"len{i}"] = np.dtype(dtype).itemsize
            arr[f"v{i}"] = values.encode() if isinstance(values, str) else values
    body = arr.view(np.uint8).reshape(rows, arr.dtype.itemsize)
    if unused:
        keep = np.ones(body.shape, bool)
        for offset, width, lengths in unused:
            keep[:, offset:offset + width] = np.arange(width) < lengths[:, None]
        body = body[keep]
    # header and trailer are written around the rows by copy_binary: no copy of the rows to prepend them
    return Binary(table, tuple(name for name, _, _ in fields), body.reshape(-1), rows)


def copy_binary(conn: Connection, piece: Binary) -> int:
    """Rows COPYed into the piece's table (FORMAT binary), inside the connection's transaction."""
    stmt = sql.SQL("COPY {} ({}) FROM STDIN (FORMAT binary)").format(
        sql.Identifier(piece.table), sql.SQL(", ").join(map(sql.Identifier, piece.columns)))
    data = memoryview(piece.rows_bytes)
    with raw_connection(conn).cursor() as cur, cur.copy(stmt) as copy:
        copy.write(_HEADER)
        for start in range(0, len(data), _WRITE_BYTES):
            copy.write(data[start:start + _WRITE_BYTES])
        copy.write(_TRAILER)
    return piece.rows
