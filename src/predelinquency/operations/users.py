"""User accounts: creation with argon2id hashes, login with a growing delay, look-ups, password and deactivation.

Every refused login (unknown user, wrong password, account in its delay, deactivated account, input no account could
match: NUL, surrogates, megabytes, nothing) answers GENERIC_LOGIN_ERROR after one argon2 verification, so neither the
answer nor its timing says which usernames exist or what state an account is in; the audit log keeps the reason.

The delay and its trade-off: after `auth.max_failed_logins` consecutive failures an account refuses every login for a
delay that starts at `auth.first_delay_seconds` and doubles with each further failure, up to `auth.lockout_minutes`;
a successful login (or an admin setting the password) resets it. During the delay even the right password is refused
with the same message, since accepting it would tell a guesser they had found it; such attempts are audited but are
not counted and do not extend the delay. So a guesser gets one try per delay (one per `lockout_minutes` once it is
capped), while someone who knows a username can keep its owner out only by guessing again before every delay ends,
each guess audited; once they stop, the account opens within `lockout_minutes`. The delay is per account, not per
source: the login form has no client address it could trust.
"""

from __future__ import annotations

import logging
import unicodedata
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import IntegrityError

from predelinquency.db.audit import write_audit
from predelinquency.errors import Conflict, NotFound, PdeError
from predelinquency.operations.accounts import USER_COLUMNS, User, get_user, is_username, shown, user_from_row
from predelinquency.operations.permissions import ROLES, actor_name, authorise, is_system
from predelinquency.settings import Auth, Settings

log = logging.getLogger(__name__)

MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 1024  # argon2 accepts more, but a megabyte "password" is an attack, not a password
MAX_FULL_NAME_LENGTH = 200  # the column has no limit; a name longer than this is junk, not a name
ASSIGNABLE_ROLES = ("officer", "manager")
GENERIC_LOGIN_ERROR = "invalid username or password"
ANONYMOUS = "(anonymous)"  # the audit actor of a login whose username no account could have; not a valid username

# argon2id with the library's RFC 9106 defaults. When these change, hashes are upgraded at the next login.
_hasher = PasswordHasher()
_dummy_hashes: dict[tuple[int, int, int], str] = {}


class AuthError(PdeError):
    """Login or API key refused; the message never says whether the username exists."""


def hash_password(password: str) -> str:
    """The argon2id hash string stored in users.password_hash (salted; never the password)."""
    return _hasher.hash(password)


def _dummy_hash() -> str:
    # verified against when the username is unknown, so that answer takes as long as a wrong password
    key = (_hasher.time_cost, _hasher.memory_cost, _hasher.parallelism)
    if key not in _dummy_hashes:
        _dummy_hashes[key] = _hasher.hash("not a password: timing equaliser")
    return _dummy_hashes[key]


def _is_text(value: object) -> bool:
    # a lone UTF-16 surrogate cannot be encoded, so argon2 and PostgreSQL would both refuse it
    try:
        value.encode("utf-8")  # type: ignore[attr-defined]
    except (AttributeError, UnicodeEncodeError):
        return False
    return True


def _verify(password_hash: str, password: object) -> bool:
    usable = isinstance(password, str) and len(password) <= MAX_PASSWORD_LENGTH and _is_text(password)
    try:
        # a password that cannot be right is still verified (as ""), so refusing it takes as long as a wrong one
        return _hasher.verify(password_hash, password if usable else "") and usable
    except VerificationError:
        return False
    except InvalidHashError:
        log.warning("a stored password hash is not a valid argon2 hash; refusing the login")
        return False


def validate_password(password: str) -> None:
    """Returns nothing; raises PdeError saying what the password policy requires."""
    if not isinstance(password, str) or not _is_text(password[:MAX_PASSWORD_LENGTH + 1]):
        raise PdeError("password must be text (it holds a character that is not valid Unicode)")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise PdeError(f"password too short: at least {MIN_PASSWORD_LENGTH} characters are required")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise PdeError(f"password too long: at most {MAX_PASSWORD_LENGTH} characters")
    if not password.strip():
        raise PdeError("password must not be only spaces")


def _clean_full_name(full_name: object) -> str | None:
    if full_name is None:
        return None
    if not isinstance(full_name, str) or not _is_text(full_name[:MAX_FULL_NAME_LENGTH + 1]):
        raise PdeError("full name must be text (it holds a character that is not valid Unicode)")
    full_name = full_name.strip()
    if len(full_name) > MAX_FULL_NAME_LENGTH:
        raise PdeError(f"full name too long: at most {MAX_FULL_NAME_LENGTH} characters")
    if any(unicodedata.category(c) == "Cc" for c in full_name):
        raise PdeError("full name must not contain control characters (tabs, line breaks, NUL)")
    return full_name or None


def create_user(
    conn: Connection, username: str, password: str, role: str, actor: User | str, full_name: str | None = None
) -> User:
    """The new active account; Conflict when the username (in any letter case) is taken."""
    authorise(conn, actor, "manage_users")
    if not is_username(username):
        raise PdeError(f"invalid username '{shown(username)}': use 2–64 letters, digits, '_', '.', '@' or '-'")
    if role not in ROLES:
        raise PdeError(f"unknown role '{shown(role)}'; choose one of {', '.join(ROLES)}")
    validate_password(password)
    full_name = _clean_full_name(full_name)
    password_hash = hash_password(password)  # slow on purpose: done before taking any lock
    try:
        with conn.begin_nested():
            # 'Alice' and 'alice' as two accounts would be a trap for officers and the audit log alike
            taken = conn.execute(text("SELECT username FROM users WHERE lower(username) = lower(:u)"),
                                 {"u": username}).scalar()
            if taken is not None:
                raise Conflict(f"username {username} is already taken" +
                               (f" (as {taken})" if taken != username else ""))
            row = conn.execute(
                text(f"INSERT INTO users (username, full_name, role, password_hash) "
                     f"VALUES (:u, :f, :r, :h) RETURNING {USER_COLUMNS}"),
                {"u": username, "f": full_name, "r": role, "h": password_hash},
            ).one()
            user = user_from_row(row)
            write_audit(conn, actor_name(actor), "create_user", "user", user.user_id, None, user.as_dict())
    except IntegrityError as exc:  # a concurrent create of the same name got there first
        raise Conflict(f"username {username} is already taken") from exc
    return user



def check_assignee(conn: Connection, actor: User, officer: str | int, given: str) -> User:
    """The active officer or manager that work (`given`: "customers", "interventions") goes to.

    PdeError when they are deactivated or of another role; Forbidden when the actor may only take work
    themselves (assigning to someone else needs assign_any).
    """
    assignee = get_user(conn, officer)
    if not assignee.is_active:
        raise PdeError(f"user {assignee.username} is deactivated and cannot be given {given}")
    if assignee.role not in ASSIGNABLE_ROLES:
        raise PdeError(f"user {assignee.username} has role {assignee.role}; {given} can only be assigned to "
                       f"an {' or '.join(ASSIGNABLE_ROLES)}")
    if assignee.user_id != actor.user_id:
        authorise(conn, actor, "assign_any")
    return assignee

def list_officers(conn: Connection) -> list[User]:
    """Active officers and managers (the people customers can be assigned to), by username."""
    rows = conn.execute(text(f"SELECT {USER_COLUMNS} FROM users WHERE is_active AND role = ANY(:roles) "
                             f"ORDER BY username"), {"roles": list(ASSIGNABLE_ROLES)})
    return [user_from_row(r) for r in rows]


def list_users(conn: Connection) -> list[dict[str, Any]]:
    """Every account with its lock state and creation time (no hashes), by username."""
    rows = conn.execute(text(
        f"SELECT {USER_COLUMNS}, failed_logins, locked_until > now() AS locked, locked_until, created_at "
        f"FROM users ORDER BY username"))
    return [{**dict(r._mapping), "locked": bool(r.locked)} for r in rows]


def _failed(conn: Connection, username: str, row: Any, reason: str, details: dict[str, Any] | None = None) -> None:
    write_audit(conn, username, "login_failed", "user", row.user_id if row is not None else None, None, None,
                {"reason": reason, **(details or {})})


def delay_after(failures: int, auth: Auth) -> int | None:
    """Seconds an account refuses every login after this many consecutive failures; None below the threshold."""
    over = failures - auth.max_failed_logins
    if over < 0:
        return None
    return min(auth.first_delay_seconds << min(over, 32), auth.lockout_minutes * 60)


def _check_login(conn: Connection, username: object, password: object, settings: Settings) -> User | AuthError:
    refused = AuthError(GENERIC_LOGIN_ERROR)
    if not is_username(username):
        # no account can have this name, and the database could not even compare it (NUL, surrogates)
        _verify(_dummy_hash(), password)
        length = len(username) if isinstance(username, str | bytes) else None
        write_audit(conn, ANONYMOUS, "login_failed", "user", None, None, None,
                    {"reason": "malformed username", "username": shown(username), "length": length})
        return refused
    # FOR UPDATE: concurrent wrong guesses must each count, not overwrite one another's increment
    row = conn.execute(
        text(f"SELECT {USER_COLUMNS}, password_hash, failed_logins, locked_until, "
             f"locked_until > now() AS delayed FROM users WHERE username = :u FOR UPDATE"), {"u": username},
    ).first()
    if row is None:
        _verify(_dummy_hash(), password)
        _failed(conn, username, None, "unknown user")
        return refused
    if row.delayed:
        # refused without looking at the password (a guess here must teach nothing), in the time a check takes
        _verify(_dummy_hash(), password)
        _failed(conn, username, row, "delayed", {"failed_logins": row.failed_logins, "locked_until": row.locked_until})
        return refused
    ok = _verify(row.password_hash, password)
    if ok and not row.is_active:
        _failed(conn, username, row, "inactive")
        return refused
    if not ok:
        failures = row.failed_logins + 1
        delay = delay_after(failures, settings.auth)
        locked_until = conn.execute(
            text("UPDATE users SET failed_logins = :n, "
                 "locked_until = now() + make_interval(secs => CAST(:d AS double precision)) "
                 "WHERE user_id = :id RETURNING locked_until"),
            {"n": failures, "d": delay, "id": row.user_id},
        ).scalar_one()
        _failed(conn, username, row, "wrong password",
                {"failed_logins": failures, "delay_seconds": delay, "locked_until": locked_until})
        return refused
    rehashed = _hasher.check_needs_rehash(row.password_hash)
    conn.execute(
        text("UPDATE users SET failed_logins = 0, locked_until = NULL, "
             "password_hash = COALESCE(:h, password_hash) WHERE user_id = :id"),
        {"h": hash_password(password) if rehashed else None, "id": row.user_id},
    )
    write_audit(conn, username, "login", "user", row.user_id, None, None, {"rehashed": rehashed})
    return user_from_row(row)


def authenticate(conn: Connection, username: str, password: str, settings: Settings) -> User:
    """The logged-in user; AuthError with GENERIC_LOGIN_ERROR for every refusal, whatever its reason or input.

    Failed attempts are counted and audited on conn and are kept only if the caller commits even when
    AuthError is raised; `login()` does that. A caller that rolls back on error disables the delay.
    """
    with conn.begin_nested():
        result = _check_login(conn, username, password, settings)
    if isinstance(result, AuthError):
        raise result
    return result


def login(engine: Engine, username: str, password: str, settings: Settings) -> User:
    """The logged-in user, in its own committed transaction so failed attempts count; AuthError otherwise."""
    with engine.connect() as conn:
        try:
            user = authenticate(conn, username, password, settings)
        except AuthError:
            conn.commit()  # the failure count and its audit rows must survive the refusal
            raise
        conn.commit()
    return user


def _admin_change(conn: Connection, actor: User | str, username: str) -> Any:
    authorise(conn, actor, "manage_users")
    row = None
    if is_username(username):
        row = conn.execute(
            text(f"SELECT {USER_COLUMNS}, failed_logins, locked_until FROM users WHERE username = :u FOR UPDATE"),
            {"u": username},
        ).first()
    if row is None:
        raise NotFound(f"user '{shown(username)}' does not exist")
    return row


def set_password(conn: Connection, username: str, new_password: str, actor: User | str) -> User:
    """The account after an admin set its password (which also clears failed logins and any login delay)."""
    validate_password(new_password)
    password_hash = hash_password(new_password)
    with conn.begin_nested():
        row = _admin_change(conn, actor, username)
        conn.execute(text("UPDATE users SET password_hash = :h, failed_logins = 0, locked_until = NULL "
                          "WHERE user_id = :id"), {"h": password_hash, "id": row.user_id})
        # the hash itself never goes into the audit log
        write_audit(conn, actor_name(actor), "set_password", "user", row.user_id,
                    {"failed_logins": row.failed_logins, "locked_until": row.locked_until},
                    {"failed_logins": 0, "locked_until": None}, {"password_changed": True})
    return user_from_row(row)


def deactivate_user(conn: Connection, username: str, actor: User | str) -> User:
    """The account after deactivation: it can no longer log in, use its API keys or act."""
    with conn.begin_nested():
        row = _admin_change(conn, actor, username)
        if not is_system(actor) and row.user_id == actor.user_id:
            raise PdeError("you cannot deactivate your own account; ask another admin")
        if not row.is_active:
            raise Conflict(f"user {username} is already deactivated")
        before = user_from_row(row)
        after = User(before.user_id, before.username, before.role, before.full_name, False)
        conn.execute(text("UPDATE users SET is_active = false WHERE user_id = :id"), {"id": row.user_id})
        write_audit(conn, actor_name(actor), "deactivate_user", "user", row.user_id, before.as_dict(),
                    after.as_dict())
    return after
