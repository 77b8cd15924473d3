"""The users table as the rest of the application reads it: the User an action is attributed to."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import Connection, text

from predelinquency.errors import NotFound

USER_COLUMNS = "user_id, username, role, full_name, is_active"



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
    return User(row.user_id, row.username, row.role, row.full_name, row.is_active)


def get_user(conn: Connection, user: str | int) -> User:
    """The account with this username (str) or user_id (int); NotFound otherwise."""
    if isinstance(user, int) and not isinstance(user, bool):
        row = conn.execute(text(f"SELECT {USER_COLUMNS} FROM users WHERE user_id = :v"), {"v": user}).first()
        what = f"user {user}"
    else:
        row = conn.execute(text(f"SELECT {USER_COLUMNS} FROM users WHERE username = :v"), {"v": str(user)}).first()
        what = f"user {user!r}"
    if row is None:
        raise NotFound(f"{what} does not exist")
    return user_from_row(row)
