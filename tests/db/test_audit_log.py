import pytest
from sqlalchemy import Connection, text
from sqlalchemy.exc import DBAPIError


def _insert(conn: Connection) -> int:
    return conn.execute(text(
        "INSERT INTO action_audit_log (actor, action, entity, entity_id) "
        "VALUES ('alice', 'create', 'intervention', '1') RETURNING audit_id")).scalar_one()


@pytest.mark.parametrize("stmt", [
    "UPDATE action_audit_log SET actor = 'mallory' WHERE audit_id = :id",
    "DELETE FROM action_audit_log WHERE audit_id = :id",
])
def test_audit_log_refuses_update_and_delete(conn: Connection, stmt: str):
    audit_id = _insert(conn)
    with pytest.raises(DBAPIError, match="append-only"), conn.begin_nested():
        conn.execute(text(stmt), {"id": audit_id})
    assert conn.execute(text("SELECT actor FROM action_audit_log WHERE audit_id = :id"),
                        {"id": audit_id}).scalar() == "alice"


def test_audit_log_refuses_truncate(conn: Connection):
    _insert(conn)
    with pytest.raises(DBAPIError, match="append-only"), conn.begin_nested():
        conn.execute(text("TRUNCATE action_audit_log"))
