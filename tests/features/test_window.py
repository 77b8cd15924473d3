from datetime import date, timedelta

import numpy as np
import polars as pl

from predelinquency.domain.daily import PANEL_COLUMNS
from predelinquency.features.window import build_panel, index_of, positions, window
from tests.support.feature_panels import AS_OF, PanelBuilder


def _daily(rows: list[tuple[int, date, float, float]]) -> pl.DataFrame:
    """daily_balances rows (customer, day, balance, outflow); every other column 0."""
    df = pl.DataFrame(rows, schema={"customer_id": pl.Int64, "day": pl.Date, "balance": pl.Float64,
                                    "outflow": pl.Float64}, orient="row")
    return df.with_columns(*(pl.lit(0.0).alias(c) for c in PANEL_COLUMNS if c not in df.columns))


def test_missing_days_are_filled_flows_with_zero_and_balances_carried_forward():
    d0 = date(2026, 1, 1)
    daily = _daily([(7, d0, 50.0, 5.0), (7, d0 + timedelta(days=3), 20.0, 9.0), (3, d0 + timedelta(days=2), -4.0, 1.0)])
    panel = build_panel(daily, customer_ids=[3, 7, 9], start=d0, end=d0 + timedelta(days=5))
    assert panel.customer_ids.tolist() == [3, 7, 9]
    assert panel.n_days == 5 and panel.end == d0 + timedelta(days=5)
    bal, out = panel.columns["balance"], panel.columns["outflow"]
    assert bal.dtype == np.float32
    np.testing.assert_array_equal(bal[1], [50, 50, 50, 20, 20])
    np.testing.assert_array_equal(out[1], [5, 0, 0, 9, 0])
    # before its first row a customer's balance is unknown, and stays unknown for a customer with no rows
    assert np.isnan(bal[0, :2]).all() and (bal[0, 2:] == -4).all()
    assert np.isnan(bal[2]).all() and (out[2] == 0).all()
    assert panel.rows_of(np.array([7, 8])).tolist() == [1, -1]


def test_complete_sorted_frames_take_the_reshape_path_with_the_same_result():
    d0 = date(2026, 1, 1)
    rows = [(c, d0 + timedelta(days=i), float(c * 10 + i), 1.0) for c in (1, 2) for i in range(4)]
    dense = build_panel(_daily(rows))
    shuffled = build_panel(_daily(rows[::-1]))
    for name in PANEL_COLUMNS:
        np.testing.assert_array_equal(dense.columns[name], shuffled.columns[name])
    assert dense.start == d0 and dense.n_days == 4


def test_rows_outside_the_range_or_customer_set_are_dropped():
    d0 = date(2026, 1, 1)
    daily = _daily([(1, d0 - timedelta(days=1), 1.0, 1.0), (1, d0, 2.0, 2.0), (2, d0, 3.0, 3.0)])
    panel = build_panel(daily, customer_ids=[1], start=d0, end=d0 + timedelta(days=1))
    assert panel.columns["outflow"].tolist() == [[2.0]]


def test_window_is_a_view_of_the_days_strictly_before_as_of():
    b = PanelBuilder()
    b.set("outflow", AS_OF - timedelta(days=1), 7).set("outflow", AS_OF, 99)
    panel = b.panel()
    win = window(panel, AS_OF)
    assert win.days == 90 and win.start == date(2025, 12, 1)
    assert win["outflow"][0, -1] == 7 and 99 not in win["outflow"]
    assert np.shares_memory(win["outflow"], panel.columns["outflow"])
    assert win.day_of_month[0] == 1 and win.day_of_month[-1] == 28
    assert win.days_in_month[0] == 31 and win.days_in_month[-1] == 28


def test_window_past_the_panel_end_carries_balances_and_zero_flows():
    b = PanelBuilder(start=AS_OF - timedelta(days=100), days=50)
    last = b.start + timedelta(days=49)
    b.fill("balance", b.start, last, -5).fill("outflow", b.start, last, 1)
    win = window(b.panel(), AS_OF)
    # panel covers 10 days before the window and 40 inside it; the 50 days after are padded
    assert (win["outflow"][0, :40] == 1).all() and (win["outflow"][0, 40:] == 0).all()
    assert (win["balance"][0] == -5).all()


def test_window_before_the_panel_start_has_unknown_balances():
    b = PanelBuilder(start=AS_OF - timedelta(days=30), days=30)
    win = window(b.panel(), AS_OF)
    assert np.isnan(win["balance"][0, :60]).all() and (win["balance"][0, 60:] == 100).all()
    assert (win["outflow"] == 0).all()


def test_index_of_and_positions_find_ids_and_mark_the_absent():
    query = np.array([7, 3, 4, 9, 3])
    assert index_of(np.array([3, 7, 9]), query).tolist() == [1, 0, -1, 2, 0]
    assert positions(np.array([9, 3, 7]), query).tolist() == [2, 1, -1, 0, 1]  # ids in any order
    assert positions(np.array([], dtype=np.int64), query).tolist() == [-1] * 5
