"""Labels spilled chunk by chunk load in (as_of, customer_id) order with every chunk's true_pd intact."""

from datetime import date
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import Connection, text

from predelinquency.settings import Simulation
from predelinquency.simulate.binary_copy import copy_binary
from predelinquency.simulate.chunk import simulate_chunk
from predelinquency.simulate.pieces import LabelSpill
from predelinquency.simulate.timeline import Timeline


@pytest.mark.parametrize("piece_rows", [50, 700])  # part of a day per piece; several days per piece
def test_spilled_labels_round_trip_in_key_order(conn: Connection, tmp_path: Path, piece_rows: int):
    tl = Timeline(date(2026, 10, 31), 125)
    chunks = [simulate_chunk(5, 0, 1, 120, tl, -4.0, Simulation()),
              simulate_chunk(5, 1, 121, 80, tl, -4.0, Simulation())]
    conn.execute(text("CREATE TEMP TABLE labels (customer_id bigint, as_of date, true_pd double precision)"))
    with LabelSpill(200, tl, tmp_path / "spill") as spill:
        for ch in chunks:
            spill.add(ch)
        pieces = list(spill.pieces(piece_rows))
    assert max(p.rows for p in pieces) <= piece_rows
    assert sum(copy_binary(conn, p) for p in pieces) == 200 * tl.days

    rows = conn.execute(text("SELECT customer_id, as_of, true_pd FROM labels")).all()  # heap order: load order
    keys = [(r.as_of, r.customer_id) for r in rows]
    assert keys == sorted(keys)
    got = np.array([r.true_pd for r in rows]).reshape(tl.days, 200).T
    expected = np.clip(np.vstack([ch.true_pd for ch in chunks]), 0.0, 1.0)
    np.testing.assert_array_equal(got, expected)
    assert rows[0].as_of == tl.start and rows[-1].as_of == tl.end
