"""The audit trail's hash chain (sql/008_audit_chain.sql, operations.audit.verify_chain, `pde audit verify`)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from itertools import pairwise

from sqlalchemy import Connection, create_engine, text

from predelinquency.cli import app
from predelinquency.db.audit import write_audit
from predelinquency.operations.audit import verify_chain


def _write(conn: Connection, n: int) -> list[int]:
    return [write_audit(conn, f"officer{i}", "create_intervention", "intervention", i, None, {"n": i},
                        {"note": "ü ✓"}) for i in range(n)]


def _tamper(conn: Connection, statement: str, **params) -> None:
    """What a superuser could do: switch the append-only trigger off and change the table."""
    conn.execute(text("ALTER TABLE action_audit_log DISABLE TRIGGER action_audit_log_no_update_delete"))
    conn.execute(text(statement), params)
    conn.execute(text("ALTER TABLE action_audit_log ENABLE TRIGGER action_audit_log_no_update_delete"))


def test_rows_are_chained_in_order_and_verify(conn: Connection):
    ids = _write(conn, 5)
    rows = conn.execute(text("SELECT seq, prev_hash, row_hash FROM action_audit_log ORDER BY seq")).all()
    assert [r.seq for r in rows] == list(range(1, len(rows) + 1))
    assert all(b.prev_hash == a.row_hash for a, b in pairwise(rows))
    result = verify_chain(conn)
    assert result["intact"] and result["rows"] == len(rows) >= len(ids)
    assert result["head"]["seq"] == rows[-1].seq and result["head"]["hash"] == rows[-1].row_hash.hex()


def test_the_time_comes_from_the_server_not_the_writer(conn: Connection):
    back_dated = datetime(2020, 1, 1, tzinfo=UTC)
    at = conn.execute(text("INSERT INTO action_audit_log (at, actor, action, entity) "
                           "VALUES (:at, 'mallory', 'backdate', 'user') RETURNING at"), {"at": back_dated}).scalar()
    assert at > datetime.now(UTC) - timedelta(minutes=5)
    assert verify_chain(conn)["intact"]


def test_a_changed_row_is_named(conn: Connection):
    ids = _write(conn, 4)
    _tamper(conn, "UPDATE action_audit_log SET actor = 'someone else' WHERE audit_id = :id", id=ids[2])
    result = verify_chain(conn)
    seq = conn.execute(text("SELECT seq FROM action_audit_log WHERE audit_id = :id"), {"id": ids[2]}).scalar()
    assert not result["intact"]
    assert result["first_broken"]["seq"] == seq and "content does not match" in result["first_broken"]["problem"]


def test_a_removed_row_is_named_by_the_row_after_it(conn: Connection):
    ids = _write(conn, 4)
    after = conn.execute(text("SELECT seq FROM action_audit_log WHERE audit_id = :id"), {"id": ids[2]}).scalar()
    _tamper(conn, "DELETE FROM action_audit_log WHERE audit_id = :id", id=ids[1])
    broken = verify_chain(conn)["first_broken"]
    assert broken["seq"] == after and "does not follow" in broken["problem"]


def test_a_rewritten_hash_does_not_hide_a_change(conn: Connection):
    ids = _write(conn, 3)
    # recomputing the changed row's own hash breaks its link to the next row instead
    _tamper(conn, "UPDATE action_audit_log SET actor = 'x', row_hash = sha256(prev_hash || "
                  "pde_audit_content(action_audit_log)) WHERE audit_id = :id", id=ids[0])
    assert not verify_chain(conn)["intact"]


def test_pde_audit_verify(cli, fresh_db: str):
    ok = cli.invoke(app, ["audit", "verify", "--json"])
    assert ok.exit_code == 0, ok.output
    assert json.loads(ok.stdout)["intact"] is True
    engine = create_engine(fresh_db)
    with engine.begin() as conn:
        ids = _write(conn, 2)
        _tamper(conn, "UPDATE action_audit_log SET details = NULL WHERE audit_id = :id", id=ids[0])
    engine.dispose()
    broken = cli.invoke(app, ["audit", "verify"])
    assert broken.exit_code == 1 and "BROKEN at row" in broken.stdout


def test_the_newest_rows_alone_can_be_checked(conn: Connection):
    ids = _write(conn, 6)
    _tamper(conn, "UPDATE action_audit_log SET actor = 'x' WHERE audit_id = :id", id=ids[0])
    assert not verify_chain(conn)["intact"]
    tail = verify_chain(conn, last_rows=3)
    assert tail["intact"] and tail["rows"] == 3
    _tamper(conn, "UPDATE action_audit_log SET actor = 'y' WHERE audit_id = :id", id=ids[-1])
    assert not verify_chain(conn, last_rows=3)["intact"]
