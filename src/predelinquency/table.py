"""Columns: a few rows as one numpy array per column, the form a one-customer read takes.

A polars frame costs a fixed amount per column to build whatever its length: for the ~50 input columns of
one customer that is more than the customer's whole feature computation. Many rows still come as polars
frames (COPY). Feature and scoring code reads either through `column` and `.height`.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import date
from typing import Any

import numpy as np
import polars as pl

Schema = dict[str, pl.DataType]
_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
_NAT = np.iinfo(np.int64).min  # NaT as datetime64's int64


def _array(values: Sequence[Any], dtype: pl.DataType) -> np.ndarray:
    """values (None for null) as the array polars' Series.to_numpy gives for this dtype, nulls included."""
    # isinstance, not ==: comparing polars dtypes with == is slow, and a customer read makes ~50 of them
    if isinstance(dtype, pl.Date):
        # through ordinals: numpy's own conversion of date objects is much slower
        return np.array([_NAT if d is None else d.toordinal() - _EPOCH_ORDINAL for d in values],
                        dtype=np.int64).view("datetime64[D]")
    if isinstance(dtype, pl.String):
        return np.array(values, dtype=object)
    if isinstance(dtype, pl.Int64) and None not in values:
        return np.array(values, dtype=np.int64)
    # floats, and the small nullable integers (day of month, counts): float64 with NaN for null, as
    # to_numpy gives for an integer column holding a null; every reader casts them to float anyway
    return np.array(values, dtype=np.float64)                      # None -> NaN


class Columns:
    """A small read-only table: name -> numpy array, all of `height` rows, in `schema`'s order."""

    __slots__ = ("_data", "height", "schema")

    def __init__(self, data: dict[str, np.ndarray], schema: Schema, height: int) -> None:
        self._data, self.schema, self.height = data, schema, height

    @classmethod
    def from_rows(cls, rows: Sequence[tuple], schema: Schema) -> Columns:
        """From fetched rows (tuples in schema order)."""
        by_column = list(zip(*rows, strict=True)) if rows else [()] * len(schema)
        return cls({name: _array(values, dtype) for (name, dtype), values in zip(schema.items(), by_column,
                                                                                 strict=True)},
                   schema, len(rows))

    @classmethod
    def from_arrays(cls, arrays: Sequence[Sequence[Any] | None], schema: Schema) -> Columns:
        """From one list per column in schema order (None: no rows, as array_agg gives for none)."""
        lists = [a or [] for a in arrays]
        return cls({name: _array(values, dtype) for (name, dtype), values in zip(schema.items(), lists, strict=True)},
                   schema, len(lists[0]) if lists else 0)

    def __getitem__(self, name: str) -> np.ndarray:
        return self._data[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self.schema)

    def filter_rows(self, keep: np.ndarray) -> Columns:
        """The rows where keep is True."""
        return Columns({n: a[keep] for n, a in self._data.items()}, self.schema, int(np.count_nonzero(keep)))

    def sort(self, by: str) -> Columns:
        """The rows in ascending order of one column (stable), like DataFrame.sort."""
        order = np.argsort(self._data[by], kind="stable")
        return Columns({n: a[order] for n, a in self._data.items()}, self.schema, self.height)


Table = pl.DataFrame | Columns


def column(table: Table, name: str) -> np.ndarray:
    """One column as numpy, from either form (Series.to_numpy for a frame: zero-copy where it can be)."""
    values = table[name]
    return values if isinstance(values, np.ndarray) else values.to_numpy()
