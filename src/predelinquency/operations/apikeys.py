"""API keys: shown once at creation, stored only as a SHA-256 hash with a short prefix for look-up and listing."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from typing import Any

from sqlalchemy import Connection, text
from sqlalchemy.exc import IntegrityError

from predelinquency.db.audit import write_audit
from predelinquency.errors import Conflict, NotFound, PdeError
from predelinquency.operations._common import as_dict
from predelinquency.operations.accounts import User, get_user, is_username, shown
from predelinquency.operations.permissions import actor_name, authorise, is_system
from predelinquency.operations.users import AuthError

KEY_PREFIX = "pde_"
PREFIX_LENGTH = 12  # 'pde_' + 8 random characters: enough to find the row, far too little to guess the key
MAX_KEY_LENGTH = 200
INVALID_KEY = "invalid or revoked API key"
# what create_api_key makes: the prefix then token_urlsafe's alphabet
KEY_SHAPE = re.compile(rf"{KEY_PREFIX}[A-Za-z0-9_-]{{{PREFIX_LENGTH - len(KEY_PREFIX) + 1},{MAX_KEY_LENGTH}}}")
_PREFIX_SHAPE = re.compile(rf"{KEY_PREFIX}[A-Za-z0-9_-]{{{PREFIX_LENGTH - len(KEY_PREFIX)}}}")
_BIGINT_MAX = 2**63 - 1

_COLS = "k.key_id, k.user_id, u.username, k.prefix, k.created_at, k.revoked_at"


def _digest(key: str) -> str:
    # a key carries 256 random bits, so a fast unsalted hash is enough: there is nothing to brute-force
    return hashlib.sha256(key.encode()).hexdigest()


def _authorise_for(conn: Connection, actor: User | str, username: str) -> None:
    own = not is_system(actor) and actor.username == username
    authorise(conn, actor, "manage_own_api_keys" if own else "manage_api_keys")


def create_api_key(conn: Connection, username: str, actor: User | str) -> str:
    """The new API key for this user: returned this once, never stored and never shown again."""
    _authorise_for(conn, actor, username)
    owner = get_user(conn, username)
    if not owner.is_active:
        raise PdeError(f"user {username} is deactivated; reactivate the account before creating keys")
    for _ in range(5):
        key = KEY_PREFIX + secrets.token_urlsafe(32)
        try:
            with conn.begin_nested():
                row = conn.execute(
                    text("INSERT INTO api_keys (user_id, prefix, key_hash) VALUES (:u, :p, :h) "
                         "RETURNING key_id, prefix, created_at"),
                    {"u": owner.user_id, "p": key[:PREFIX_LENGTH], "h": _digest(key)},
                ).one()
                # the audit row names the key by its prefix; the key itself appears nowhere
                write_audit(conn, actor_name(actor), "create_api_key", "api_key", row.key_id, None,
                            {**as_dict(row), "user_id": owner.user_id, "username": owner.username})
            return key
        except IntegrityError:
            continue  # two keys with the same 48-bit prefix: draw again
    raise Conflict("could not create a unique API key prefix; try again")


def user_for_api_key(conn: Connection, key: str) -> User:
    """The active user who owns this key; AuthError for an unknown, malformed or revoked key or inactive user."""
    if not isinstance(key, str) or len(key) > MAX_KEY_LENGTH or not KEY_SHAPE.fullmatch(key):
        raise AuthError(INVALID_KEY)  # the same answer as an unknown key; NUL or surrogates never reach the database
    row = conn.execute(
        text("SELECT k.key_hash, k.revoked_at, u.user_id, u.username, u.role, u.full_name, u.is_active "
             "FROM api_keys k JOIN users u ON u.user_id = k.user_id WHERE k.prefix = :p"),
        {"p": key[:PREFIX_LENGTH]},
    ).first()
    # compared in constant time so response timing says nothing about how much of a guess matched
    stored = row.key_hash if row is not None else _digest("")
    matches = hmac.compare_digest(stored, _digest(key))
    if row is None or not matches or row.revoked_at is not None or not row.is_active:
        raise AuthError(INVALID_KEY)
    return User(row.user_id, row.username, row.role, row.full_name, row.is_active)


def revoke_api_key(conn: Connection, key: int | str, actor: User | str) -> dict[str, Any]:
    """The revoked key's row (prefix, owner, revoked_at); key is its key_id, prefix, or the whole key."""
    if isinstance(key, int) and not isinstance(key, bool):
        where, value, possible = "k.key_id = :v", key, 0 < key <= _BIGINT_MAX
    else:
        where, value = "k.prefix = :v", str(key)[:PREFIX_LENGTH]
        possible = _PREFIX_SHAPE.fullmatch(value) is not None
    with conn.begin_nested():
        row = None
        if possible:
            row = conn.execute(text(f"SELECT {_COLS} FROM api_keys k JOIN users u ON u.user_id = k.user_id "
                                    f"WHERE {where} FOR UPDATE OF k"), {"v": value}).first()
        if row is None:
            raise NotFound(f"API key {shown(key)} does not exist")
        _authorise_for(conn, actor, row.username)
        if row.revoked_at is not None:
            raise Conflict(f"API key {row.prefix} was already revoked at {row.revoked_at:%Y-%m-%d %H:%M}")
        after = as_dict(conn.execute(
            text(f"UPDATE api_keys k SET revoked_at = now() FROM users u WHERE u.user_id = k.user_id "
                 f"AND k.key_id = :id RETURNING {_COLS}"), {"id": row.key_id}).one())
        write_audit(conn, actor_name(actor), "revoke_api_key", "api_key", row.key_id, as_dict(row), after)
    return after


def list_api_keys(conn: Connection, username: str | None = None) -> list[dict[str, Any]]:
    """Keys (prefix, owner, created, revoked; never hashes), newest first, optionally of one user."""
    if username is not None and not is_username(username):
        return []  # no account can have this name
    rows = conn.execute(
        text(f"SELECT {_COLS} FROM api_keys k JOIN users u ON u.user_id = k.user_id "
             f"WHERE CAST(:u AS text) IS NULL OR u.username = :u ORDER BY k.created_at DESC, k.key_id DESC"),
        {"u": username},
    )
    return [as_dict(r) for r in rows]
