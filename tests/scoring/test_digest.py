"""Input digests: equal for equal rows however they were read, different after any change."""

from datetime import date

import numpy as np
import polars as pl

from predelinquency.scoring import digest
from predelinquency.scoring.digest import customer_digests, row_hashes
from predelinquency.table import Columns

SCHEMA = {"customer_id": pl.Int64(), "due_date": pl.Date(), "amount": pl.Float64(), "days_late": pl.Int32(),
          "status": pl.String()}
ROWS = [
    (1, date(2026, 1, 10), 200.0, 0, "paid"),
    (1, date(2026, 2, 10), 200.0, None, "pending"),
    (2, None, 0.5, 3, None),
    (3, date(2026, 3, 1), None, 1, "missed"),
]
IDS = np.array([1, 2, 3])


def frame(rows: list[tuple]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=SCHEMA, orient="row")


def test_a_frame_and_columns_of_the_same_rows_have_the_same_digests():
    # the frame's integer column holds a null, so it reads as float64 with NaN; Columns' reads so anyway
    assert np.array_equal(row_hashes(frame(ROWS)), row_hashes(Columns.from_rows(ROWS, SCHEMA)))
    # and a frame without any null reads its integers as integers: same hashes for the same values
    no_null = [r for r in ROWS if None not in r]
    assert np.array_equal(row_hashes(frame(no_null)), row_hashes(Columns.from_rows(no_null, SCHEMA)))


def test_row_order_does_not_matter_but_each_customer_has_their_own_digest():
    digests = customer_digests(IDS, [frame(ROWS)])
    assert np.array_equal(digests, customer_digests(IDS, [Columns.from_rows(ROWS[::-1], SCHEMA)]))
    assert len(set(digests.tolist())) == 3


def test_any_change_to_any_value_changes_the_customer_s_digest_only():
    before = customer_digests(IDS, [frame(ROWS)])
    changes = [(0, 1, date(2026, 1, 11)), (0, 2, 200.01), (0, 3, 1), (0, 4, "missed"), (1, 3, 0), (1, 4, None),
               (2, 1, date(2026, 1, 1)), (2, 2, None), (2, 4, "paid"), (3, 2, 0.0), (0, 2, -0.0)]
    for row, col, value in changes:
        rows = [list(r) for r in ROWS]
        rows[row][col] = value
        after = customer_digests(IDS, [frame([tuple(r) for r in rows])])
        changed = np.flatnonzero(after != before)
        assert changed.tolist() == [IDS.tolist().index(ROWS[row][0])], (row, col, value)


def test_rows_added_removed_or_values_swapped_between_columns_change_the_digest():
    before = customer_digests(IDS, [frame(ROWS)])
    assert customer_digests(IDS, [frame([*ROWS, ROWS[0]])])[0] != before[0]      # a duplicate row
    assert customer_digests(IDS, [frame(ROWS[1:])])[0] != before[0]               # a row gone
    swapped = pl.DataFrame({"a": [1.0, 2.0]}).with_columns(b=pl.col("a").reverse())
    assert row_hashes(swapped)[0] != row_hashes(swapped.select(a="b", b="a"))[0]  # same values, other columns


def test_several_tables_are_folded_in_order():
    one, two = frame(ROWS[:2]), frame(ROWS[2:])
    assert not np.array_equal(customer_digests(IDS, [one, two]), customer_digests(IDS, [two, one]))


def test_a_few_rows_stacked_hash_as_many_rows_column_by_column(monkeypatch):
    stacked_frame, stacked_columns = row_hashes(frame(ROWS)), row_hashes(Columns.from_rows(ROWS, SCHEMA))
    monkeypatch.setattr(digest, "_STACK_ROWS", 0)  # as a nightly shard's millions of rows are hashed
    assert np.array_equal(row_hashes(frame(ROWS)), stacked_frame)
    assert np.array_equal(row_hashes(Columns.from_rows(ROWS, SCHEMA)), stacked_columns)
    assert np.array_equal(stacked_frame, stacked_columns)
