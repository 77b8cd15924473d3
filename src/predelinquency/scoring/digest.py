"""Digests of a customer's input rows: equal exactly when the rows are equal, however they were read.

The nightly reads its shards through COPY (polars frames), a request reads one customer as numpy Columns;
both must give the same digest for the same rows, and any change to a row must change it. Each value is
turned into 64 bits that do not depend on how it was read (numbers as float64 bits with one NaN for null,
dates as their day number, text as a hash of its UTF-8 bytes), each row's bits are combined with a
different odd multiplier per column and mixed (splitmix64's finaliser, a bijection), and the rows' hashes
are summed per customer, so row order does not matter. All arithmetic wraps modulo 2**64. Nothing depends
on a library's internal hashing, so upgrading polars or numpy does not change a digest.

Vectorised: a few numpy operations per column over all rows; text columns hash only their distinct values.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from functools import lru_cache

import numpy as np
import polars as pl

from predelinquency.features.window import positions
from predelinquency.table import Table, column

_NULL = np.uint64(0x6A09E667F3BCC909)            # what any null value hashes to
_NAN_BITS = np.float64(np.nan).view(np.uint64)    # one NaN, whatever NaN payload a reader produced
_TABLE_MIX = np.uint64(0x9E3779B97F4A7C15)        # odd, so folding a table in never loses the digest so far
# up to this many rows the number columns are hashed as one stacked block; a nightly shard's millions of
# daily rows go column by column, in bounded memory (same result: the per-column terms are summed either way)
_STACK_ROWS = 10_000


def _multipliers(n: int) -> np.ndarray:
    """One odd 64-bit multiplier per column position, fixed forever (derived from the position alone)."""
    return np.array([int.from_bytes(hashlib.blake2b(f"column {i}".encode(), digest_size=8).digest(), "little") | 1
                     for i in range(n)], dtype=np.uint64)


_COLUMN_MULTIPLIERS = _multipliers(64)


@lru_cache(maxsize=4096)
def _text_bits(value: str | None) -> int:
    if value is None:
        return int(_NULL)
    return int.from_bytes(hashlib.blake2b(value.encode(), digest_size=8).digest(), "little")


def _number_bits(values: np.ndarray) -> np.ndarray:
    """float64 bits, with one NaN for null: an integer column reads as float64 with NaN where a row is null."""
    floats = values.astype(np.float64)
    return np.where(np.isnan(floats), _NAN_BITS, floats.view(np.uint64))


def _bits(table: Table, name: str) -> np.ndarray:
    """uint64 per row for one column, the same for a frame and for Columns holding the same values."""
    if isinstance(table, pl.DataFrame) and table.schema[name] == pl.String():
        series = table[name]
        codes = {v: _text_bits(v) for v in series.unique().to_list()}
        return series.replace_strict(codes, return_dtype=pl.UInt64).to_numpy()
    values = column(table, name)
    if values.dtype == object:
        return np.array([_text_bits(v) for v in values], dtype=np.uint64)
    if values.dtype.kind == "M":  # day number; NaT (null) is int64's minimum, the same from both readers
        return values.astype("datetime64[D]").view(np.int64).view(np.uint64)
    return _number_bits(values)


def _mix(x: np.ndarray) -> np.ndarray:
    """splitmix64's finaliser: every input bit affects every output bit (a bijection on uint64)."""
    x = x ^ (x >> np.uint64(30))
    x = x * np.uint64(0xBF58476D1CE4E5B9)
    x = x ^ (x >> np.uint64(27))
    x = x * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


def row_hashes(table: Table) -> np.ndarray:
    """uint64 per row of a frame or Columns."""
    names = list(table.schema)
    if len(names) > len(_COLUMN_MULTIPLIERS):
        raise ValueError(f"at most {len(_COLUMN_MULTIPLIERS)} columns can be hashed; got {len(names)}")
    acc = np.zeros(table.height, dtype=np.uint64)
    # uint64 array arithmetic wraps silently (numpy warns about overflow for scalars only)
    numbers, others = _split_columns(tuple(table.schema.items()))
    if table.height <= _STACK_ROWS and numbers:
        # a few rows (one customer on demand): the number columns as one block, a handful of numpy calls
        block = _number_bits(np.array([column(table, names[i]) for i in numbers], dtype=np.float64))
        acc += (block * _COLUMN_MULTIPLIERS[list(numbers)][:, None]).sum(axis=0)
    else:
        others = tuple(range(len(names)))
    for i in others:
        acc += _bits(table, names[i]) * _COLUMN_MULTIPLIERS[i]
    return _mix(acc)


@lru_cache(maxsize=64)
def _split_columns(schema: tuple[tuple[str, pl.DataType], ...]) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """(positions of the number columns, positions of the others) of a schema."""
    numbers = tuple(i for i, (_, dtype) in enumerate(schema) if dtype.is_numeric())
    return numbers, tuple(i for i in range(len(schema)) if i not in numbers)


def customer_digests(ids: np.ndarray, tables: Sequence[Table]) -> np.ndarray:
    """uint64 digest per customer of ids over the rows of tables (each with a customer_id column)."""
    digest = np.zeros(len(ids), dtype=np.uint64)
    for table in tables:
        at = positions(ids, column(table, "customer_id").astype(np.int64))
        if (at < 0).any():
            raise ValueError("input rows of customers that are not among the loaded customers")
        digest = digest * _TABLE_MIX + _sum_by(at, row_hashes(table), len(ids))
    return digest


def _sum_by(at: np.ndarray, values: np.ndarray, n: int) -> np.ndarray:
    """Wrapping uint64 sums of values per position (bincount would go through float64 and lose bits)."""
    sums = np.zeros(n, dtype=np.uint64)
    if n == 1:  # one customer on demand: every row is theirs
        sums[0] = values.sum()
    elif len(at):
        order = np.argsort(at, kind="stable")
        sorted_at = at[order]
        starts = np.flatnonzero(np.concatenate(([True], sorted_at[1:] != sorted_at[:-1])))
        sums[sorted_at[starts]] = np.add.reduceat(values[order], starts)
    return sums
