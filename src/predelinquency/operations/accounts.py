"""The users table as the rest of the application reads it: the User an action is attributed to."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import Connection, text

from predelinquency.errors import NotFound

USER_COLUMNS = "user_id, username, role, full_name, is_active"
USERNAME_RE = re.compile(r"^[A-Za-z0-9_.@-]{2,64}$")  # the same pattern as the users table's CHECK
_BIGINT_MAX = 2**63 - 1


def is_username(value: object) -> bool:
    """Whether value could be a stored username; anything else (NUL, surrogates, megabytes) names nobody."""
    return isinstance(value, str) and len(value) <= 64 and USERNAME_RE.fullmatch(value) is not None


def shown(value: object, limit: int = 40) -> str:
    """Text a user typed, made safe to echo in a message or store in the audit log: escaped and bounded."""
    text_ = value if isinstance(value, str) else repr(value)
    escaped = text_[: limit + 1].encode("unicode_escape").decode("ascii")  # NUL, controls, surrogates as \x.. / \u....
    return escaped[:limit] + "…" if len(escaped) > limit else escaped


@dataclass(frozen=True)
class User:
    """An account as the application sees it; never carries the password hash."""

    user_id: int
    username: str
    role: str
    full_name: str | None
    is_active: bool

    def as_dict(self) -> dict[str, Any]:
        """The account as a plain dict (audit rows, JSON answers)."""
        return asdict(self)


def user_from_row(row: Any) -> User:
    """The User of a users row."""
    return User(row.user_id, row.username, row.role, row.full_name, row.is_active)


def get_user(conn: Connection, user: str | int) -> User:
    """The account with this username (str) or user_id (int); NotFound otherwise."""
    row = None
    if isinstance(user, int) and not isinstance(user, bool):
        if 0 < user <= _BIGINT_MAX:
            row = conn.execute(text(f"SELECT {USER_COLUMNS} FROM users WHERE user_id = :v"), {"v": user}).first()
        what = f"user {user}"
    else:
        if is_username(user):
            row = conn.execute(text(f"SELECT {USER_COLUMNS} FROM users WHERE username = :v"), {"v": user}).first()
        what = f"user '{shown(user)}'"
    if row is None:
        raise NotFound(f"{what} does not exist")
    return user_from_row(row)
