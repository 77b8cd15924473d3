import pytest
from sqlalchemy import Connection, text

from predelinquency.errors import Forbidden
from predelinquency.operations.accounts import User
from predelinquency.operations.assignments import assign_customer, current_assignment
from predelinquency.operations.interventions import create_intervention
from predelinquency.operations.permissions import PERMISSIONS, allowed, require
from predelinquency.settings import Settings
from tests.support.operations import People, count


def _user(role: str, active: bool = True) -> User:
    return User(1, f"a_{role}", role, None, active)


@pytest.mark.parametrize("action", ["create_intervention", "snooze_customer", "record_outcome", "assign_self"])
def test_every_role_may_work_the_list(action: str):
    for role in ("officer", "manager", "admin"):
        require(_user(role), action)


@pytest.mark.parametrize("action", ["assign_any", "promote_model", "retrain_model", "generate_data", "run_nightly",
                                    "upload_data"])
def test_manager_actions(action: str):
    with pytest.raises(Forbidden, match=f"role officer.*'{action}' needs role manager or admin"):
        require(_user("officer"), action)
    require(_user("manager"), action)
    require(_user("admin"), action)


def test_user_management_is_admin_only_and_system_actors_pass():
    with pytest.raises(Forbidden, match="user a_manager has role manager, which may not manage user accounts"):
        require(_user("manager"), "manage_users")
    require(_user("admin"), "manage_users")
    assert all(allowed("cli:root", a) for a in PERMISSIONS)


def test_inactive_users_may_do_nothing_and_unknown_actions_are_bugs():
    with pytest.raises(Forbidden, match="deactivated"):
        require(_user("admin", active=False), "create_intervention")
    with pytest.raises(ValueError, match="unknown action"):
        require(_user("admin"), "launch_rockets")


def test_officer_cannot_assign_to_another_officer(conn: Connection, people: People, customer: int):
    with pytest.raises(Forbidden, match=r"role officer.*assign customers to other officers"):
        assign_customer(conn, people.officer, customer, "oscar")
    with pytest.raises(Forbidden):
        create_intervention(conn, people.officer, customer, "agent_call", "phone", Settings(),
                            assigned_to=people.other_officer.user_id)
    assert count(conn, "customer_assignments") == 0 and count(conn, "interventions") == 0
    assign_customer(conn, people.officer, customer, "olivia")  # to themselves: allowed


def test_role_is_read_from_the_database_not_the_session(conn: Connection, people: People, customer: int):
    # a manager demoted after logging in keeps a stale User object; the operation must use the current role
    conn.execute(text("UPDATE users SET role = 'officer' WHERE user_id = :id"), {"id": people.manager.user_id})
    with pytest.raises(Forbidden, match="role officer"):
        assign_customer(conn, people.manager, customer, "oscar")
    conn.execute(text("UPDATE users SET is_active = false WHERE user_id = :id"), {"id": people.officer.user_id})
    with pytest.raises(Forbidden, match="deactivated"):
        assign_customer(conn, people.officer, customer, "olivia")


def test_officer_takes_unassigned_customers_but_not_someone_elses(conn: Connection, people: People,
                                                                  make_customer):
    theirs, free = make_customer(), make_customer()
    assign_customer(conn, people.manager, theirs, "oscar")
    with pytest.raises(Forbidden, match=rf"customer {theirs} is assigned to oscar; user olivia has role officer, "
                                        r"which may not take a customer assigned to someone else \(action "
                                        r"'assign_any' needs role manager or admin\)"):
        assign_customer(conn, people.officer, theirs, "olivia")
    with pytest.raises(Forbidden):
        assign_customer(conn, people.officer, theirs, "olivia", expected_current=people.other_officer.user_id)
    assert current_assignment(conn, theirs)["officer"] == "oscar"
    assert count(conn, "action_audit_log", "action = 'assign_customer'") == 1
    assert assign_customer(conn, people.officer, free, "olivia")["officer"] == "olivia"  # unassigned: allowed
    assert assign_customer(conn, people.manager, theirs, "maria")["previous_officer_id"] == people.other_officer.user_id
    with pytest.raises(Forbidden, match="may not take a customer assigned to someone else"):
        assign_customer(conn, people.other_officer, theirs, "oscar")  # a manager's customer is someone else's too
