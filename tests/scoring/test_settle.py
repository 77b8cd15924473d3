"""Outcomes settled from the payments that follow a contact or a holdout draw (scoring/settle.py)."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import Connection, text

from predelinquency.operations.audit import recent_audit
from predelinquency.scoring.settle import settle_outcomes
from tests.support.bank import DemoBank

WINDOW, GRACE = 30, 5


def _last_day(conn: Connection) -> date:
    return conn.execute(text("SELECT max(day) FROM daily_balances")).scalar_one()


def _unit(conn: Connection, customer_id: int, day: date, arm: str = "contact") -> None:
    conn.execute(text(
        "INSERT INTO contact_plan (business_date, customer_id, arm, rank, recommended_action, tier, pd, exposure, "
        "expected_benefit, model_version, policy_version) "
        "VALUES (:d, :c, :a, 1, 'agent_call', 'High', 0.2, 1000, 10, 'v', 'p')"),
        {"d": day, "c": customer_id, "a": arm})


def _next_payment(conn: Connection, customer_id: int, day: date) -> tuple[date, str]:
    """The first due date in the window and its worst status (missed over late over paid)."""
    rows = conn.execute(text(
        "SELECT due_date, status FROM payments WHERE customer_id = :c AND due_date > :d "
        "AND due_date <= CAST(:d AS date) + :w ORDER BY due_date, payment_id"),
        {"c": customer_id, "d": day, "w": WINDOW}).all()
    first = [r.status for r in rows if r.due_date == rows[0].due_date]
    return rows[0].due_date, next(s for s in ("missed", "late", "paid") if s in first)


def test_outcomes_come_from_the_next_instalment_and_settle_once(demo_conn: Connection, demo_bank: DemoBank):
    last = _last_day(demo_conn)
    start = last - timedelta(days=60)
    missed = demo_conn.execute(text(
        "SELECT DISTINCT customer_id FROM payments WHERE status = 'missed' AND due_date > :s "
        "AND due_date <= CAST(:s AS date) + 30 "
        "ORDER BY customer_id LIMIT 3"), {"s": start}).scalars().all()
    paid = demo_conn.execute(text(
        "SELECT DISTINCT customer_id FROM payments WHERE status = 'paid' AND due_date > :s "
        "AND due_date <= CAST(:s AS date) + 30 "
        "AND customer_id <> ALL(:m) ORDER BY customer_id LIMIT 3"), {"s": start, "m": list(missed)}).scalars().all()
    for c in (*missed, *paid):
        _unit(demo_conn, c, start, "holdout" if c in missed else "contact")
    summary = settle_outcomes(demo_conn, last, last + timedelta(days=1), WINDOW, GRACE)
    rows = {r[0]: (r[1], r[2]) for r in demo_conn.execute(text(
        "SELECT customer_id, outcome_due_date, payment_outcome FROM contact_plan WHERE business_date = :s"),
        {"s": start})}
    for c in (*missed, *paid):
        assert rows[c] == tuple(_next_payment(demo_conn, c, start))
    assert summary["plan"].get("missed", 0) >= 1 and summary["plan"].get("paid", 0) >= 1
    audit = recent_audit(demo_conn, entity="business_date")[0]
    assert audit["actor"] == "system:nightly" and audit["action"] == "settle_outcomes"
    # settled once: a second run finds nothing left to settle and writes no audit row
    again = settle_outcomes(demo_conn, last, last + timedelta(days=1), WINDOW, GRACE)
    assert again == {"interventions": {}, "plan": {}}
    assert len(recent_audit(demo_conn, entity="business_date")) == 1


def test_nothing_settles_before_the_data_decide_it(demo_conn: Connection, demo_bank: DemoBank):
    last = _last_day(demo_conn)
    recent = last - timedelta(days=2)
    # a customer whose next instalment is due after the data end (still pending)
    c = demo_conn.execute(text(
        "SELECT customer_id FROM payments WHERE status = 'pending' AND due_date > :l "
        "AND customer_id NOT IN (SELECT customer_id FROM payments WHERE due_date > :r AND due_date <= :l) "
        "ORDER BY customer_id LIMIT 1"), {"l": last, "r": recent}).scalar_one()
    _unit(demo_conn, c, recent)
    settle_outcomes(demo_conn, last, last + timedelta(days=1), WINDOW, GRACE)
    assert demo_conn.execute(text("SELECT settled_on FROM contact_plan WHERE customer_id = :c AND business_date = :r"),
                             {"c": c, "r": recent}).scalar_one() is None


def test_no_instalment_in_the_window_settles_as_such(demo_conn: Connection, demo_bank: DemoBank):
    last = _last_day(demo_conn)
    day = last - timedelta(days=40)
    # a 3-day window with nothing due in it
    c = demo_conn.execute(text(
        "SELECT c.customer_id FROM customers c WHERE NOT EXISTS (SELECT 1 FROM payments p WHERE p.customer_id = "
        "c.customer_id AND p.due_date > :d AND p.due_date <= CAST(:d AS date) + 3) ORDER BY 1 LIMIT 1"),
        {"d": day}).scalar_one()
    _unit(demo_conn, c, day)
    settle_outcomes(demo_conn, last, last + timedelta(days=1), 3, GRACE)
    assert demo_conn.execute(text("SELECT payment_outcome FROM contact_plan WHERE customer_id = :c AND "
                                  "business_date = :d"), {"c": c, "d": day}).scalar_one() == "no_instalment"


def test_interventions_settle_too_but_cancelled_ones_never(demo_conn: Connection, demo_bank: DemoBank):
    last = _last_day(demo_conn)
    day = last - timedelta(days=50)
    officer = demo_conn.execute(text(
        "INSERT INTO users (username, role, password_hash) VALUES ('settler', 'officer', 'x') RETURNING user_id"
    )).scalar_one()
    ids = demo_conn.execute(text(
        "SELECT DISTINCT customer_id FROM payments WHERE due_date > :d AND due_date <= CAST(:d AS date) + 30 "
        "ORDER BY 1 LIMIT 2"), {"d": day}).scalars().all()
    made = demo_conn.execute(text(
        "INSERT INTO interventions (customer_id, intervention_type, channel, status, created_by, due_at, "
        "business_date) "
        "VALUES (:a, 'agent_call', 'phone', 'completed', :u, now(), :d), (:b, 'agent_call', 'phone', 'cancelled', "
        ":u, now(), :d) RETURNING intervention_id, status"), {"a": ids[0], "b": ids[1], "u": officer, "d": day}).all()
    settle_outcomes(demo_conn, last, last + timedelta(days=1), WINDOW, GRACE)
    got = dict(demo_conn.execute(text("SELECT status, payment_outcome FROM interventions WHERE intervention_id = "
                                      "ANY(:ids)"), {"ids": [m[0] for m in made]}).all())
    assert got["completed"] == _next_payment(demo_conn, ids[0], day)[1]
    assert got["cancelled"] is None
