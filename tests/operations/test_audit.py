from datetime import UTC, date, datetime
from decimal import Decimal

from sqlalchemy import Connection

from predelinquency.db.audit import write_audit
from predelinquency.operations.audit import recent_audit


def test_write_and_read_audit_rows_with_json_values(conn: Connection):
    first = write_audit(conn, "alice", "create_intervention", "intervention", 7, None,
                        {"at": datetime(2024, 5, 1, 10, tzinfo=UTC), "day": date(2024, 5, 1),
                         "amount": Decimal("12.50")}, {"why": "test"})
    second = write_audit(conn, "bob", "assign_customer", "customer", 42, {"officer_id": 1}, {"officer_id": 2})
    assert second > first
    rows = recent_audit(conn, limit=10)
    assert [r["audit_id"] for r in rows[:2]] == [second, first]
    only = recent_audit(conn, entity="intervention", entity_id=7)
    assert len(only) == 1 and only[0]["actor"] == "alice" and only[0]["entity_id"] == "7"
    assert only[0]["after"] == {"at": "2024-05-01T10:00:00+00:00", "day": "2024-05-01", "amount": 12.5}
    assert only[0]["before"] is None and only[0]["details"] == {"why": "test"}
    assert recent_audit(conn, entity="customer", entity_id=42)[0]["before"] == {"officer_id": 1}
