"""The SQL daily rollup: its rules on a hand-made day, carry-forward, idempotence, and exact agreement
with the generator's own daily rows."""

from datetime import date, timedelta

import polars as pl
import pytest
from sqlalchemy import Connection, text

from predelinquency.db.rollup import latest_data_day, refresh_daily_balances, rollup_mismatches
from predelinquency.domain.daily import DAILY_COLUMNS, FLOWS
from predelinquency.domain.vocabulary import TXN_CATEGORIES, TXN_CHANNELS
from predelinquency.settings import Simulation
from predelinquency.simulate.chunk import simulate_chunk
from predelinquency.simulate.daily import daily_frame
from predelinquency.simulate.load import copy_piece, ensure_partitions
from predelinquency.simulate.pieces import Ids, chunk_pieces
from predelinquency.simulate.timeline import Timeline

D1, D2, D3 = date(2026, 3, 1), date(2026, 3, 2), date(2026, 3, 3)


def _customers(conn: Connection) -> None:
    for cid in (1, 2):
        conn.execute(text(
            "INSERT INTO customers (customer_id, full_name, age, employment_type, segment, region, monthly_income, "
            "tenure_months) VALUES (:c, 'Test Person', 40, 'salaried', 'mass', 'Wales', 2000, 12)"), {"c": cid})
        conn.execute(text("INSERT INTO accounts (account_id, customer_id, product_type, opening_balance, opened_on) "
                          "VALUES (:a, :c, 'current', :b, '2025-01-01')"),
                     {"a": cid * 10 + 1, "c": cid, "b": 100 * cid})
    conn.execute(text("INSERT INTO accounts (account_id, customer_id, product_type, opening_balance, opened_on) "
                      "VALUES (12, 1, 'savings', 500, '2025-01-01')"))


def _txn(conn: Connection, txn_id: int, ts: str, amount: float, category: str, channel: str,
         status: str = "posted", customer: int = 1) -> None:
    conn.execute(text("INSERT INTO transactions (txn_id, customer_id, account_id, ts, amount, category, channel, "
                      "status) VALUES (:i, :c, :a, CAST(:ts AS timestamptz), :amt, :cat, :ch, :st)"),
                 {"i": txn_id, "c": customer, "a": customer * 10 + 1, "ts": ts, "amt": amount, "cat": category,
                  "ch": channel, "st": status})


def _rows(conn: Connection) -> dict[tuple[int, date], dict]:
    rows = conn.execute(text("SELECT * FROM daily_balances ORDER BY customer_id, day")).mappings().all()
    return {(r["customer_id"], r["day"]): dict(r) for r in rows}


def test_rules_on_a_hand_made_day(conn: Connection):
    conn.execute(text("SELECT pde_ensure_partitions('transactions', :lo, :hi)"), {"lo": D1, "hi": D3})
    _customers(conn)
    conn.execute(text("SET LOCAL TimeZone = 'Asia/Tokyo'"))  # days are UTC dates whatever the session zone
    _txn(conn, 1, "2026-03-01 01:00:00+00", 1000, "salary", "transfer")
    _txn(conn, 2, "2026-03-01 09:00:00+00", -50, "groceries", "card")
    _txn(conn, 3, "2026-03-01 05:00:00+00", -80, "utilities", "direct_debit", "failed")
    _txn(conn, 4, "2026-03-01 20:00:00+00", -200, "savings_transfer", "online")
    _txn(conn, 5, "2026-03-01 12:00:00+00", -40, "atm_withdrawal", "atm")
    _txn(conn, 6, "2026-03-01 23:30:00+00", -10, "gambling", "online")
    _txn(conn, 7, "2026-03-02 00:30:00+00", -25.5, "dining", "card")
    assert refresh_daily_balances(conn, D1, D2) == 4  # two customers x two days, with or without transactions
    rows = _rows(conn)
    day1 = rows[(1, D1)]
    assert day1["balance"] == 100 + 1000 - 50 - 200 - 40 - 10
    assert day1["savings_balance"] == 700 and day1["savings_out"] == 200
    assert day1["inflow"] == 1000 and day1["outflow"] == 300 and day1["salary_in"] == 1000
    assert day1["essential_out"] == 50 and day1["utility_out"] == 0  # the failed debit moved no money
    assert day1["atm_out"] == 40 and day1["gambling_out"] == 10 and day1["gambling_count"] == 1
    assert day1["txn_count"] == 5 and day1["card_count"] == 1 and day1["online_count"] == 2
    assert day1["atm_count"] == 1 and day1["failed_debits"] == 1
    day2 = rows[(1, D2)]
    assert day2["balance"] == day1["balance"] - 25.5 and day2["discretionary_out"] == 25.5
    assert day2["savings_balance"] == 700
    quiet = rows[(2, D1)]
    assert quiet["balance"] == 200 and quiet["savings_balance"] == 0 and quiet["txn_count"] == 0


def test_one_new_day_carries_forward_and_reruns_are_idempotent(conn: Connection):
    conn.execute(text("SELECT pde_ensure_partitions('transactions', :lo, :hi)"), {"lo": D1, "hi": D3})
    _customers(conn)
    _txn(conn, 1, "2026-03-01 10:00:00+00", -30, "groceries", "card")
    refresh_daily_balances(conn, D1, D2)
    _txn(conn, 2, "2026-03-03 10:00:00+00", 45, "transfer_in", "transfer", customer=2)
    assert refresh_daily_balances(conn, D3, D3) == 2
    first = _rows(conn)
    assert first[(1, D3)]["balance"] == 70 and first[(2, D3)]["balance"] == 245
    assert refresh_daily_balances(conn, D3, D3) == 2
    assert _rows(conn) == first
    # a late-arriving transaction on an already rolled-up day: recomputing that day replaces its row
    _txn(conn, 3, "2026-03-02 10:00:00+00", -5, "transport", "card")
    refresh_daily_balances(conn, D2, D3)
    again = _rows(conn)
    assert again[(1, D2)]["balance"] == 65 and again[(1, D3)]["balance"] == 65
    assert rollup_mismatches(conn, D1, D3) == 0


def test_a_refresh_limited_to_some_customers_leaves_the_others(conn: Connection):
    conn.execute(text("SELECT pde_ensure_partitions('transactions', :lo, :hi)"), {"lo": D1, "hi": D3})
    _customers(conn)
    refresh_daily_balances(conn, D1, D3)
    _txn(conn, 1, "2026-03-01 10:00:00+00", -30, "groceries", "card", customer=1)
    _txn(conn, 2, "2026-03-01 10:00:00+00", -70, "groceries", "card", customer=2)
    assert refresh_daily_balances(conn, D1, D3, customer_ids=[2]) == 3  # customer 2's three days only
    rows = _rows(conn)
    assert [rows[(2, d)]["balance"] for d in (D1, D2, D3)] == [130, 130, 130]  # carried forward
    assert [rows[(1, d)]["balance"] for d in (D1, D2, D3)] == [100, 100, 100]  # not asked for: as before
    assert rows[(1, D1)]["essential_out"] == 0 and rows[(2, D1)]["essential_out"] == 70
    assert rollup_mismatches(conn, D1, D3) == 3  # customer 1's stale days, until they are refreshed too


def test_every_flow_rule_names_known_categories_and_channels():
    for f in FLOWS:
        assert set(f.categories) <= set(TXN_CATEGORIES), f.column
        assert f.channel is None or f.channel in TXN_CHANNELS, f.column
        assert f.kind == "count" or f.status == "posted", f.column  # failed transactions move no money


def test_an_empty_range_is_a_programming_error(conn: Connection):
    with pytest.raises(ValueError, match="empty"):
        refresh_daily_balances(conn, D2, D1)


def test_sql_rollup_equals_the_generators_daily_rows(conn: Connection):
    tl = Timeline(date(2026, 10, 31), 125)
    ch = simulate_chunk(9, 0, 1, 120, tl, -4.0, Simulation())
    ensure_partitions(conn, tl.start, tl.end)
    for piece in chunk_pieces(ch, tl, Ids(), piece_rows=5000):  # small pieces: several COPYs per table
        copy_piece(conn, piece)
    assert rollup_mismatches(conn, tl.start, tl.end) == 0

    # drop the last week and a stretch in the middle, then rebuild them from transactions in SQL
    generated = daily_frame(ch.daily, ch.customers.customer_id, tl.epoch_day0)
    middle = tl.start + timedelta(days=40)
    for lo, hi in ((tl.end - timedelta(days=6), tl.end), (middle, middle + timedelta(days=10))):
        conn.execute(text("DELETE FROM daily_balances WHERE day BETWEEN :lo AND :hi"), {"lo": lo, "hi": hi})
        assert refresh_daily_balances(conn, lo, hi) == 120 * ((hi - lo).days + 1)
    columns = ", ".join(DAILY_COLUMNS)
    stored = conn.execute(text(f"SELECT {columns} FROM daily_balances ORDER BY customer_id, day")).all()
    rebuilt = pl.DataFrame([tuple(r) for r in stored], schema=generated.columns, orient="row")
    assert rebuilt.height == generated.height
    for column in generated.columns:  # exactly equal: both sum the same cents
        assert rebuilt[column].cast(generated[column].dtype).equals(generated[column]), column


def test_the_nightly_rolls_up_only_the_days_after_the_rollup(conn: Connection):
    """bring_rollup_up_to_date: nothing when the rollup is current, then exactly the new days, once."""
    from predelinquency.scoring.nightly import bring_rollup_up_to_date

    conn.execute(text("SELECT pde_ensure_partitions('transactions', :lo, :hi)"), {"lo": D1, "hi": D3})
    conn.execute(text("SELECT pde_ensure_partitions('daily_balances', :lo, :hi)"), {"lo": D1, "hi": D3})
    _customers(conn)
    _txn(conn, 1, "2026-03-01 09:00:00+00", -50, "groceries", "card")
    refresh_daily_balances(conn, D1, D1)
    assert bring_rollup_up_to_date(conn) == (0, D1)
    # a late transaction on the rolled-up day is the upload path's to recompute, not the nightly's
    _txn(conn, 2, "2026-03-01 10:00:00+00", -5, "dining", "card")
    _txn(conn, 3, "2026-03-03 09:00:00+00", -20, "dining", "card", customer=2)
    assert bring_rollup_up_to_date(conn) == (2, D3)  # March 2 has no transactions: a day all the same
    rows = _rows(conn)
    assert {d for _, d in rows} == {D1, D2, D3} and len(rows) == 6
    assert rows[(1, D1)]["outflow"] == 50 and rows[(2, D3)]["outflow"] == 20 and rows[(1, D2)]["balance"] == 50
    assert bring_rollup_up_to_date(conn) == (0, D3)
    assert len(_rows(conn)) == 6


def test_the_latest_day_comes_from_the_watermark_the_rollup_keeps(conn: Connection):
    """Found in the table once, then kept by each refresh; a back-dated refresh never moves it back."""
    conn.execute(text("SELECT pde_ensure_partitions('transactions', :lo, :hi)"), {"lo": D1, "hi": D3})
    conn.execute(text("SELECT pde_ensure_partitions('daily_balances', :lo, :hi)"), {"lo": D1, "hi": D3})
    _customers(conn)
    _txn(conn, 1, "2026-03-01 09:00:00+00", -50, "groceries", "card")
    assert latest_data_day(conn) is None  # no data: nothing kept
    assert conn.execute(text("SELECT count(*) FROM rollup_watermark")).scalar_one() == 0
    refresh_daily_balances(conn, D1, D2)
    assert conn.execute(text("SELECT count(*) FROM rollup_watermark")).scalar_one() == 0  # not kept yet
    assert latest_data_day(conn) == D2  # found in the table once ...
    conn.execute(text("DELETE FROM daily_balances WHERE day = :d"), {"d": D2})
    assert latest_data_day(conn) == D2  # ... then read from the watermark, not the table
    refresh_daily_balances(conn, D1, D3)
    assert latest_data_day(conn) == D3
    refresh_daily_balances(conn, D1, D1)  # back-dated: the newest day stays
    assert latest_data_day(conn) == D3
