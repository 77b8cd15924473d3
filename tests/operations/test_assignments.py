import threading

import pytest
from sqlalchemy import Connection, create_engine, text

from predelinquency.errors import Conflict, NotFound, PdeError
from predelinquency.operations.assignments import assign_customer, assignments_of, current_assignment
from predelinquency.operations.audit import recent_audit
from predelinquency.operations.users import create_user
from tests.support.concurrency import in_thread, wait_until_blocked
from tests.support.operations import People, count, insert_customer, make_people
from tests.support.users import PASSWORD, SYSTEM


def test_reassignment_ends_old_and_starts_new(conn: Connection, people: People, customer: int):
    first = assign_customer(conn, people.manager, customer, "olivia", reason="new case")
    assert first["officer"] == "olivia" and first["previous_officer_id"] is None
    second = assign_customer(conn, people.manager, customer, people.other_officer.user_id,
                             expected_current=people.officer.user_id)
    assert second["officer_id"] == people.other_officer.user_id
    assert second["previous_officer_id"] == people.officer.user_id
    assert current_assignment(conn, customer)["officer"] == "oscar"
    assert count(conn, "customer_assignments", "customer_id = :c", c=customer) == 2
    assert count(conn, "customer_assignments", "customer_id = :c AND ended_at IS NULL", c=customer) == 1
    assert assignments_of(conn, people.other_officer.user_id) == [customer]
    audit = recent_audit(conn, entity="customer", entity_id=customer)[0]
    assert audit["action"] == "assign_customer" and audit["actor"] == "maria"
    assert audit["before"]["officer"] == "olivia" and audit["after"]["officer"] == "oscar"


def test_assignment_checks(conn: Connection, people: People, customer: int):
    with pytest.raises(NotFound, match="customer 123 does not exist"):
        assign_customer(conn, people.manager, 123, "olivia")
    with pytest.raises(NotFound, match="user 'ghost' does not exist"):
        assign_customer(conn, people.manager, customer, "ghost")
    with pytest.raises(PdeError, match="role admin; customers can only be assigned to an officer or manager"):
        assign_customer(conn, people.manager, customer, "adam")
    create_user(conn, "gone", PASSWORD, "officer", SYSTEM)
    conn.execute(text("UPDATE users SET is_active = false WHERE username = 'gone'"))
    with pytest.raises(PdeError, match="deactivated"):
        assign_customer(conn, people.manager, customer, "gone")
    assign_customer(conn, people.manager, customer, "olivia")
    with pytest.raises(Conflict, match="already assigned to olivia"):
        assign_customer(conn, people.manager, customer, "olivia")
    with pytest.raises(Conflict, match=r"reassigned by someone else \(now assigned to olivia\)"):
        assign_customer(conn, people.manager, customer, "oscar", expected_current=None)
    assert count(conn, "customer_assignments") == 1


def test_concurrent_assignment_exactly_one_wins(fresh_db: str):
    eng = create_engine(fresh_db)
    with eng.begin() as c:
        p = make_people(c)
        customer = insert_customer(c)
    # first: a deterministic interleaving where the second assigner really waits for the first's lock
    with eng.connect() as first:
        with first.begin():
            assign_customer(first, p.manager, customer, "olivia", expected_current=None)
            thread, out = in_thread(eng, lambda c: assign_customer(c, p.admin, customer, "oscar",
                                                                   expected_current=None))
            wait_until_blocked(eng)
        thread.join(10)
    assert isinstance(out.get("error"), Conflict), out
    # then: two assigners released at the same instant on a fresh customer
    with eng.begin() as c:
        other = insert_customer(c)
    barrier = threading.Barrier(2)
    results: list[object] = []

    def assign(officer: str) -> None:
        barrier.wait()
        try:
            with eng.begin() as c:
                results.append(assign_customer(c, p.manager, other, officer, expected_current=None))
        except Conflict as exc:
            results.append(exc)

    threads = [threading.Thread(target=assign, args=(name,)) for name in ("olivia", "oscar")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert sorted(type(r).__name__ for r in results) == ["Conflict", "dict"]
    with eng.connect() as c:
        for cust in (customer, other):
            assert count(c, "customer_assignments", "customer_id = :c", c=cust) == 1
        assert current_assignment(c, customer)["officer"] == "olivia"
    eng.dispose()
