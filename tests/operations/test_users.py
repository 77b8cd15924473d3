import pytest
from argon2 import PasswordHasher
from sqlalchemy import Connection, create_engine, text

from predelinquency.errors import Conflict, Forbidden, NotFound, PdeError
from predelinquency.operations import users as users_mod
from predelinquency.operations.audit import recent_audit
from predelinquency.operations.users import (
    AuthError,
    authenticate,
    create_user,
    deactivate_user,
    get_user,
    list_officers,
    login,
    set_password,
)
from predelinquency.settings import Settings
from tests.support.operations import People, count
from tests.support.users import PASSWORD, SYSTEM


def _hash(conn: Connection, username: str) -> str:
    return conn.execute(text("SELECT password_hash FROM users WHERE username = :u"), {"u": username}).scalar_one()


def test_password_is_stored_as_argon2id_hash_never_in_clear(conn: Connection, people: People):
    stored = _hash(conn, "olivia")
    assert stored.startswith("$argon2id$") and PASSWORD not in stored
    assert get_user(conn, "olivia") == people.officer
    assert get_user(conn, people.officer.user_id).username == "olivia"
    audit = recent_audit(conn, entity="user", entity_id=people.officer.user_id)
    assert audit[0]["action"] == "create_user" and audit[0]["actor"] == SYSTEM
    assert "password" not in str(audit[0]["after"]) and "$argon2" not in str(audit[0])


@pytest.mark.parametrize(("username", "password", "role", "message"), [
    ("a", PASSWORD, "officer", "invalid username"),
    ("bad name!", PASSWORD, "officer", "invalid username"),
    ("valid", PASSWORD, "superuser", "unknown role"),
    ("valid", "short pw", "officer", "at least 12 characters"),
    ("valid", " " * 14, "officer", "only spaces"),
])
def test_create_user_validation(conn: Connection, username, password, role, message):
    with pytest.raises(PdeError, match=message):
        create_user(conn, username, password, role, SYSTEM)
    assert count(conn, "users") == 0


def test_duplicate_username_conflicts_in_any_case(conn: Connection, people: People):
    with pytest.raises(Conflict, match="already taken"):
        create_user(conn, "olivia", PASSWORD, "officer", SYSTEM)
    with pytest.raises(Conflict, match="already taken"):
        create_user(conn, "Olivia", PASSWORD, "officer", SYSTEM)
    assert count(conn, "users") == 4


def test_only_admins_and_system_actors_manage_users(conn: Connection, people: People):
    with pytest.raises(Forbidden, match=r"role manager.*manage user accounts"):
        create_user(conn, "newbie", PASSWORD, "officer", people.manager)
    assert create_user(conn, "newbie", PASSWORD, "officer", people.admin).role == "officer"
    with pytest.raises(ValueError, match="neither a User nor a system actor"):
        create_user(conn, "other", PASSWORD, "officer", "adam")  # a bare username is not an actor


def test_authenticate_ok_and_failures_share_one_message(conn: Connection, people: People, settings: Settings):
    assert authenticate(conn, "olivia", PASSWORD, settings) == people.officer
    with pytest.raises(AuthError) as wrong:
        authenticate(conn, "olivia", "wrong password!", settings)
    with pytest.raises(AuthError) as unknown:
        authenticate(conn, "nobody", PASSWORD, settings)
    assert str(wrong.value) == str(unknown.value) == "invalid username or password"
    actions = [(a["actor"], a["action"], a["details"]["reason"] if a["details"] and "reason" in a["details"] else None)
               for a in recent_audit(conn, entity="user")][:3]
    assert actions == [("nobody", "login_failed", "unknown user"), ("olivia", "login_failed", "wrong password"),
                       ("olivia", "login", None)]


def test_lockout_after_max_failures_refuses_right_password(conn: Connection, people: People, settings: Settings):
    settings.auth.max_failed_logins = 3
    for _ in range(2):
        with pytest.raises(AuthError, match=r"^invalid username or password$"):
            authenticate(conn, "olivia", "wrong password!", settings)
    with pytest.raises(AuthError, match="temporarily locked for 15 minutes"):
        authenticate(conn, "olivia", "wrong password!", settings)
    with pytest.raises(AuthError, match=r"temporarily locked.*try again in 15 minutes"):
        authenticate(conn, "olivia", PASSWORD, settings)
    assert count(conn, "action_audit_log", "action = 'login_locked' AND actor = 'olivia'") == 1
    assert count(conn, "action_audit_log", "action = 'login_failed' AND actor = 'olivia'") == 4
    assert count(conn, "action_audit_log", "action = 'login'") == 0
    # once the lock has expired the right password works again and clears the counters
    conn.execute(text("UPDATE users SET locked_until = now() - interval '1 minute' WHERE username = 'olivia'"))
    assert authenticate(conn, "olivia", PASSWORD, settings).username == "olivia"
    row = conn.execute(text("SELECT failed_logins, locked_until FROM users WHERE username = 'olivia'")).one()
    assert row.failed_logins == 0 and row.locked_until is None


def test_inactive_user_cannot_log_in(conn: Connection, people: People, settings: Settings):
    deactivate_user(conn, "olivia", people.admin)
    with pytest.raises(AuthError, match=r"^invalid username or password$"):
        authenticate(conn, "olivia", PASSWORD, settings)


def test_login_rehashes_when_parameters_changed(conn: Connection, people: People, settings: Settings,
                                                monkeypatch: pytest.MonkeyPatch):
    old = _hash(conn, "olivia")
    stronger = PasswordHasher(time_cost=2, memory_cost=16, parallelism=1)
    monkeypatch.setattr(users_mod, "_hasher", stronger)
    authenticate(conn, "olivia", PASSWORD, settings)
    new = _hash(conn, "olivia")
    assert new != old and not stronger.check_needs_rehash(new)
    authenticate(conn, "olivia", PASSWORD, settings)
    assert _hash(conn, "olivia") == new  # no rehash when nothing changed


def test_login_commits_failures_even_though_it_raises(fresh_db: str, settings: Settings):
    eng = create_engine(fresh_db)
    with eng.begin() as c:
        create_user(c, "olivia", PASSWORD, "officer", SYSTEM)
    with pytest.raises(AuthError):
        login(eng, "olivia", "wrong password!", settings)
    assert login(eng, "olivia", PASSWORD, settings).username == "olivia"
    with eng.connect() as c:
        assert [a["action"] for a in recent_audit(c, entity="user")][:2] == ["login", "login_failed"]
    eng.dispose()


def test_set_password_and_deactivate_are_admin_only(conn: Connection, people: People, settings: Settings):
    with pytest.raises(Forbidden):
        set_password(conn, "oscar", "a brand new password", people.officer)
    conn.execute(text("UPDATE users SET failed_logins = 3, locked_until = now() + interval '1 hour' "
                      "WHERE username = 'oscar'"))
    set_password(conn, "oscar", "a brand new password", people.admin)
    assert authenticate(conn, "oscar", "a brand new password", settings).username == "oscar"  # also unlocked
    with pytest.raises(NotFound, match="user 'ghost' does not exist"):
        deactivate_user(conn, "ghost", people.admin)
    with pytest.raises(PdeError, match="your own account"):
        deactivate_user(conn, "adam", people.admin)
    assert deactivate_user(conn, "oscar", people.admin).is_active is False
    with pytest.raises(Conflict, match="already deactivated"):
        deactivate_user(conn, "oscar", people.admin)
    assert [u.username for u in list_officers(conn)] == ["maria", "olivia"]


def test_no_default_credentials(conn: Connection):
    assert count(conn, "users") == 0 and count(conn, "api_keys") == 0


def test_locked_message_counts_down(conn: Connection, people: People, settings: Settings):
    conn.execute(text("UPDATE users SET locked_until = now() + interval '90 seconds' WHERE username = 'olivia'"))
    with pytest.raises(AuthError, match="try again in 2 minutes"):
        authenticate(conn, "olivia", PASSWORD, settings)  # rounded up: never "try again in 0 minutes"
