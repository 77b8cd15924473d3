import pytest
from argon2 import PasswordHasher
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from sqlalchemy import Connection, create_engine, text

from predelinquency.errors import Conflict, Forbidden, NotFound, PdeError
from predelinquency.operations import users as users_mod
from predelinquency.operations.audit import recent_audit
from predelinquency.operations.users import (
    GENERIC_LOGIN_ERROR,
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


def _lock_state(conn: Connection, username: str = "olivia") -> tuple[int, float | None]:
    """failed_logins and the delay left in seconds (now() is the test transaction's start, so it is exact)."""
    row = conn.execute(text("SELECT failed_logins, EXTRACT(EPOCH FROM locked_until - now()) AS left_s "
                            "FROM users WHERE username = :u"), {"u": username}).one()
    return row.failed_logins, None if row.left_s is None else float(row.left_s)


def _expire_delay(conn: Connection) -> None:
    conn.execute(text("UPDATE users SET locked_until = now() - interval '1 second' WHERE username = 'olivia'"))


def _refused(conn: Connection, username: object, password: object, settings: Settings) -> None:
    with pytest.raises(AuthError) as refused:
        authenticate(conn, username, password, settings)  # type: ignore[arg-type]
    assert str(refused.value) == GENERIC_LOGIN_ERROR


def test_growing_delay_after_max_failures_refuses_right_password(conn: Connection, people: People,
                                                                 settings: Settings):
    settings.auth.max_failed_logins, settings.auth.first_delay_seconds, settings.auth.lockout_minutes = 3, 4, 1
    for _ in range(2):
        _refused(conn, "olivia", "wrong password!", settings)
    assert _lock_state(conn) == (2, None)  # no delay before max_failed_logins
    _refused(conn, "olivia", "wrong password!", settings)
    assert _lock_state(conn) == (3, 4.0)
    # during the delay the right password gets the same answer, and guesses neither count nor extend it
    _refused(conn, "olivia", PASSWORD, settings)
    for _ in range(5):
        _refused(conn, "olivia", "wrong password!", settings)
    assert _lock_state(conn) == (3, 4.0)
    delayed = [a["details"] for a in recent_audit(conn, entity="user", entity_id=people.officer.user_id)[:6]]
    assert {d["reason"] for d in delayed} == {"delayed"}
    # each failure after the delay doubles it, up to lockout_minutes
    for failures, delay in ((4, 8.0), (5, 16.0), (6, 32.0), (7, 60.0), (8, 60.0)):
        _expire_delay(conn)
        _refused(conn, "olivia", "wrong password!", settings)
        assert _lock_state(conn) == (failures, delay)
    conn.execute(text("UPDATE users SET failed_logins = 1000000 WHERE username = 'olivia'"))
    _expire_delay(conn)
    _refused(conn, "olivia", "wrong password!", settings)
    assert _lock_state(conn) == (1000001, 60.0)
    assert count(conn, "action_audit_log", "action = 'login'") == 0
    # once the delay is over the right password works and clears the counters
    _expire_delay(conn)
    assert authenticate(conn, "olivia", PASSWORD, settings).username == "olivia"
    row = conn.execute(text("SELECT failed_logins, locked_until FROM users WHERE username = 'olivia'")).one()
    assert row.failed_logins == 0 and row.locked_until is None


def test_every_refusal_has_one_message_and_the_audit_keeps_the_reason(conn: Connection, people: People,
                                                                     settings: Settings):
    settings.auth.max_failed_logins = 1
    _refused(conn, "nobody", PASSWORD, settings)
    _refused(conn, "oscar", "wrong password!", settings)  # starts oscar's delay
    _refused(conn, "oscar", PASSWORD, settings)
    deactivate_user(conn, "olivia", people.admin)
    _refused(conn, "olivia", PASSWORD, settings)
    _refused(conn, "no body!", PASSWORD, settings)
    reasons = [a["details"]["reason"] for a in recent_audit(conn) if a["action"] == "login_failed"]
    assert reasons == ["malformed username", "inactive", "delayed", "wrong password", "unknown user"]


MEGABYTE = "x" * 1_000_000


@pytest.mark.parametrize("username", ["oli\x00via", "\x00", "ab\udc80cd", "olivia\udc80", MEGABYTE, "", " ",
                                      "a" * 65, "o", "cli:root", None, 42, b"olivia"])
def test_hostile_username_is_a_refused_login_audited_without_the_password(conn: Connection, people: People,
                                                                          settings: Settings, username: object):
    before = count(conn, "action_audit_log", "action = 'login_failed'")
    _refused(conn, username, PASSWORD, settings)
    audit = recent_audit(conn, limit=1)[0]
    assert count(conn, "action_audit_log", "action = 'login_failed'") == before + 1
    assert audit["action"] == "login_failed" and audit["entity_id"] is None  # no account: an anonymous row
    assert audit["details"]["reason"] == "malformed username" and len(str(audit)) < 1000
    assert PASSWORD not in str(audit)


@pytest.mark.parametrize("password", ["correct horse\x00battery", "\x00", "ab\udc80cd", MEGABYTE, "", None, 42])
def test_hostile_password_counts_as_a_wrong_one(conn: Connection, people: People, settings: Settings,
                                                password: object):
    _refused(conn, "olivia", password, settings)
    audit = recent_audit(conn, limit=1)[0]
    assert audit["entity_id"] == str(people.officer.user_id) and audit["details"]["reason"] == "wrong password"
    assert _lock_state(conn) == (1, None) and len(str(audit)) < 1000
    _refused(conn, "nobody", password, settings)


# any text at all, lone surrogates and NUL included, plus the shapes a form or a script can send
_ANY_TEXT = st.text(st.characters(codec=None, min_codepoint=0), max_size=80)
_LOGIN_INPUT = st.one_of(_ANY_TEXT, st.sampled_from(["olivia", "oscar", "", MEGABYTE, PASSWORD]), st.none(),
                         st.integers(), st.binary(max_size=8))


@hypothesis_settings(max_examples=150, deadline=None, derandomize=True,
                     suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(username=_LOGIN_INPUT, password=_LOGIN_INPUT)
def test_any_login_input_is_refused_with_the_one_message(conn: Connection, people: People, settings: Settings,
                                                        username: object, password: object):
    if (username, password) in (("olivia", PASSWORD), ("oscar", PASSWORD)):
        return
    before = count(conn, "action_audit_log", "action = 'login_failed'")
    _refused(conn, username, password, settings)
    assert count(conn, "action_audit_log", "action = 'login_failed'") == before + 1


def test_login_commits_hostile_failures(fresh_db: str, settings: Settings):
    eng = create_engine(fresh_db)
    with eng.begin() as c:
        create_user(c, "olivia", PASSWORD, "officer", SYSTEM)
    for username in ("oli\x00via", "ab\udc80cd", MEGABYTE):
        with pytest.raises(AuthError, match=f"^{GENERIC_LOGIN_ERROR}$"):
            login(eng, username, PASSWORD, settings)
    with eng.connect() as c:
        assert count(c, "action_audit_log", "action = 'login_failed'") == 3
    eng.dispose()


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


@pytest.mark.parametrize(("username", "password", "full_name", "message"), [
    ("ab\x00cd", PASSWORD, None, "invalid username"),
    (MEGABYTE, PASSWORD, None, "invalid username"),
    ("valid", "correct horse\udc80battery", None, "password must be text"),
    ("valid", PASSWORD, "Olivia\x00Officer", "full name must not contain control characters"),
    ("valid", PASSWORD, "Olivia \udc80", "full name must be text"),
    ("valid", PASSWORD, MEGABYTE, "full name too long"),
])
def test_create_user_refuses_text_the_database_cannot_store(conn: Connection, username, password, full_name,
                                                             message):
    with pytest.raises(PdeError, match=message) as refused:
        create_user(conn, username, password, "officer", SYSTEM, full_name=full_name)
    assert len(str(refused.value)) < 200
    assert count(conn, "users") == 0


@pytest.mark.parametrize("username", ["oli\x00via", "ab\udc80cd", MEGABYTE, 2**63, -1])
def test_admin_lookups_of_impossible_users_are_not_found(conn: Connection, people: People, username: object):
    with pytest.raises(NotFound, match="does not exist") as missing:
        get_user(conn, username)  # type: ignore[arg-type]
    assert len(str(missing.value)) < 200
    if isinstance(username, str):
        with pytest.raises(NotFound):
            set_password(conn, username, "a brand new password", people.admin)
        with pytest.raises(NotFound):
            deactivate_user(conn, username, people.admin)
