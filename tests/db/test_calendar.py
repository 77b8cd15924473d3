"""The business date: the day after the latest data day, only ever moving forward (db/calendar.py)."""

from __future__ import annotations

from datetime import UTC, date

from sqlalchemy import Connection, text

from predelinquency.db.calendar import business_date, move_business_date


def test_without_data_it_is_the_calendar_today(conn: Connection):
    conn.execute(text("DELETE FROM business_calendar"))
    assert business_date(conn) == conn.execute(text("SELECT current_date")).scalar_one()


def test_it_only_moves_forward(conn: Connection):
    assert move_business_date(conn, date(2026, 11, 1)) >= date(2026, 11, 1)
    move_business_date(conn, date(2030, 1, 2))
    assert move_business_date(conn, date(2026, 11, 1)) == date(2030, 1, 2)
    assert business_date(conn) == date(2030, 1, 2)


def test_business_now_is_the_business_date_at_the_wall_clocks_time(conn: Connection):
    move_business_date(conn, date(2031, 3, 4))
    now, business_now = conn.execute(text("SELECT now(), pde_business_now()")).one()
    assert business_now.astimezone(UTC).date() == date(2031, 3, 4)
    assert business_now.astimezone(UTC).time() == now.astimezone(UTC).time()
