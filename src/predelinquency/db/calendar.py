"""The business date: the engine's one notion of "today", the day after the latest data day.

Scores, today's plan, cool-downs, SLA ageing, intervention and outcome dates use it; the wall clock is kept
beside it for audit rows. On a live bank the two coincide; on the synthetic bank the business date moves when
the bank moves (`pde generate`, `pde advance`). Stored in `business_calendar` (sql/011), read in SQL as
`pde_business_date()` / `pde_business_now()`.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import Connection, text


def business_date(conn: Connection) -> date:
    """Today for the engine (the calendar's today while no data has been loaded)."""
    return conn.execute(text("SELECT pde_business_date()")).scalar_one()


def move_business_date(conn: Connection, day: date) -> date:
    """Moves the business date forward to `day` (never back); returns the business date after the move."""
    return conn.execute(text("SELECT pde_move_business_date(:d)"), {"d": day}).scalar_one()
