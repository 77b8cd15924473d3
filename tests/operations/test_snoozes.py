from datetime import date, timedelta

import pytest
from sqlalchemy import Connection, text

from predelinquency.errors import NotFound, PdeError
from predelinquency.operations.audit import recent_audit
from predelinquency.operations.snoozes import MAX_SNOOZE_DAYS, active_snooze, snooze_customer
from tests.support.operations import People, count


def _today(conn: Connection) -> date:
    return conn.execute(text("SELECT current_date")).scalar_one()


def test_snooze_is_written_and_audited(conn: Connection, people: People, customer: int):
    until = _today(conn) + timedelta(days=14)
    row = snooze_customer(conn, people.officer, customer, until, "  customer in hospital ")
    assert row["until"] == until and row["reason"] == "customer in hospital"
    assert active_snooze(conn, customer)["snooze_id"] == row["snooze_id"]
    audit = recent_audit(conn, entity="customer", entity_id=customer)[0]
    assert audit["action"] == "snooze_customer" and audit["actor"] == "olivia" and audit["before"] is None


@pytest.mark.parametrize(("days", "reason", "message"), [
    (5, "   ", "a reason is required"),
    (0, "on holiday", "not in the future"),
    (-3, "on holiday", "not in the future"),
    (MAX_SNOOZE_DAYS + 1, "on holiday", f"at most {MAX_SNOOZE_DAYS} days"),
])
def test_snooze_validation(conn: Connection, people: People, customer: int, days: int, reason: str, message: str):
    with pytest.raises(PdeError, match=message):
        snooze_customer(conn, people.officer, customer, _today(conn) + timedelta(days=days), reason)
    assert count(conn, "customer_snoozes") == 0 and count(conn, "action_audit_log", "action = 'snooze_customer'") == 0


def test_snooze_unknown_customer(conn: Connection, people: People):
    with pytest.raises(NotFound, match="customer 123 does not exist"):
        snooze_customer(conn, people.officer, 123, _today(conn) + timedelta(days=3), "reason")
