"""Two real connections: start an operation on a thread and wait until PostgreSQL shows it blocked on a lock."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from sqlalchemy import Engine, text


def wait_until_blocked(engine: Engine, timeout: float = 10.0) -> None:
    """Returns once some other session of this database waits on a lock; AssertionError after timeout."""
    deadline = time.monotonic() + timeout
    with engine.connect() as c:
        while time.monotonic() < deadline:
            waiting = c.execute(text(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()")).scalar_one()
            c.rollback()
            if waiting:
                return
            time.sleep(0.02)
    raise AssertionError("the second transaction never blocked on a lock")


def in_thread(engine: Engine, fn: Callable[[Any], Any]) -> tuple[threading.Thread, dict[str, Any]]:
    """Runs fn(conn) in its own transaction on a thread; the dict gets 'result' or 'error' when it ends."""
    out: dict[str, Any] = {}

    def run() -> None:
        try:
            with engine.begin() as conn:
                out["result"] = fn(conn)
        except Exception as exc:  # reported to the test through `out`
            out["error"] = exc

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, out
