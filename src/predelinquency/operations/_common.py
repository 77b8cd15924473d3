"""Helpers shared by the operations: row locks on customers, row-to-dict, transient database conflicts."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, text
from sqlalchemy.exc import IntegrityError, OperationalError

from predelinquency.errors import Conflict, NotFound


def as_dict(row: Any) -> dict[str, Any]:
    """A result row as a plain dict of column name to value."""
    return dict(row._mapping)


def lock_customer(conn: Connection, customer_id: int) -> Any:
    """The customer row, locked until the transaction ends; NotFound when there is no such customer.

    Every operation that checks then writes per-customer state (cool-down, duplicates, the current
    assignment) takes this lock first, so two concurrent requests for one customer run one after the other
    and the second sees what the first committed.
    """
    row = conn.execute(text("SELECT customer_id, full_name, is_active FROM customers WHERE customer_id = :c "
                            "FOR UPDATE"), {"c": customer_id}).first()
    if row is None:
        raise NotFound(f"customer {customer_id} does not exist")
    return row


@contextmanager
def concurrent_change_is_conflict(message: str) -> Iterator[None]:
    """Turns a unique-index violation or serialization failure raised inside into Conflict(message)."""
    try:
        yield
    except IntegrityError as exc:
        raise Conflict(message) from exc
    except OperationalError as exc:
        # under REPEATABLE READ / SERIALIZABLE a concurrent writer surfaces as 40001 or 40P01, not as a wait
        if getattr(exc.orig, "sqlstate", None) in ("40001", "40P01"):
            raise Conflict(message) from exc
        raise
