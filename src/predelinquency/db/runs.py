"""batch_runs: every long job (generate, train, nightly, ingest) is recorded with progress, stages and errors.

Progress is written on its own short autocommit connection so the dashboard sees it while the job's
main transaction is still open; the job's data itself commits (or not) independently of this record.

A running job also holds a PostgreSQL session advisory lock for its kind. The database drops it when the
process dies, so a job that was killed (its row stuck at 'running') is recognised by the next job of that
kind, which marks the old row failed instead of refusing to start forever. Readers ask the lock too
(`latest_run`, `job_running`): a 'running' row whose lock is free belongs to a dead process.
"""

from __future__ import annotations

import json
import logging
import time
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import IntegrityError

from predelinquency.errors import Conflict, PdeError

log = logging.getLogger(__name__)
Progress = Callable[[float, str], None]
RUN_LOCK = 72_832  # first key of pg_advisory_lock(int, int); the second is hashtext(kind)
STALE_ERROR = "the process stopped without finishing (killed, or it lost its database connection)"
ACTIVE = ("queued", "running")
_SUMMARY = "run_id, kind, status, triggered_by, progress, message, error, created_at, started_at, finished_at"


def no_progress(fraction: float, message: str) -> None:
    """A Progress callback that discards updates (library calls outside a recorded run)."""


@dataclass
class RunRecorder:
    """Handle for one batch_runs row: progress, stage timings, metrics and a log."""

    engine: Engine
    run_id: int
    stages: list[dict[str, Any]] = field(default_factory=list)
    metrics: dict[str, Any] = field(default_factory=dict)
    _log_lines: list[str] = field(default_factory=list)
    _last_write: float = 0.0
    _lock: Connection | None = None
    kind: str = ""
    _range: tuple[float, float] = (0.0, 1.0)  # the share of the run that progress() fractions fill (sub_range)

    def progress(self, fraction: float, message: str) -> None:
        """Record progress in [0, 1] with a one-line message (throttled to ~4 writes a second)."""
        self._log_lines.append(f"{time.strftime('%H:%M:%S')} {message}")
        now = time.monotonic()
        if now - self._last_write < 0.25 and fraction < 1:
            return
        lo, hi = self._range
        fraction = lo + min(max(fraction, 0.0), 1.0) * (hi - lo)
        self._last_write = now
        with self.engine.begin() as conn:
            conn.execute(
                text("UPDATE batch_runs SET progress = :p, message = :m, log = :log WHERE run_id = :id"),
                {"p": fraction, "m": message, "log": "\n".join(self._log_lines),
                 "id": self.run_id},
            )

    @contextmanager
    def sub_range(self, lo: float, hi: float) -> Iterator[None]:
        """Inside the block, progress fractions fill [lo, hi] of the current range: a job run as one step of
        another (each day's nightly in `pde advance`) moves the outer job's bar on instead of restarting it."""
        outer = self._range
        width = outer[1] - outer[0]
        self._range = (outer[0] + lo * width, outer[0] + hi * width)
        try:
            yield
        finally:
            self._range = outer

    @contextmanager
    def stage(self, name: str) -> Iterator[dict[str, Any]]:
        """Times a stage; the caller may set info['rows'] (and other figures) on the yielded dict."""
        info: dict[str, Any] = {"name": name}
        start = time.perf_counter()
        try:
            yield info
        finally:
            info["seconds"] = round(time.perf_counter() - start, 3)
            self.stages.append(info)


def _release(lock: Connection, kind: str) -> None:
    """Unlocks the kind's advisory lock and returns the connection (its session outlives us in the pool)."""
    try:
        lock.execute(text("SELECT pg_advisory_unlock(:a, hashtext(:k))"), {"a": RUN_LOCK, "k": kind})
        lock.commit()
    finally:
        lock.close()


def start_run(engine: Engine, kind: str, actor: str, params: dict[str, Any]) -> RunRecorder:
    """A new running batch_runs row; Conflict when a job of the same kind is already running."""
    lock = engine.connect()
    try:
        got = lock.execute(text("SELECT pg_try_advisory_lock(:a, hashtext(:k))"),
                           {"a": RUN_LOCK, "k": kind}).scalar_one()
        lock.commit()
    except BaseException:
        lock.close()
        raise
    if not got:
        lock.close()
        raise Conflict(f"a {kind} job is already running; wait for it to finish")
    try:
        with engine.begin() as conn:
            # nobody holds the lock, so a row still 'running' belongs to a process that died
            conn.execute(text("UPDATE batch_runs SET status = 'failed', finished_at = now(), error = :e "
                              "WHERE kind = :k AND status IN ('queued', 'running')"), {"k": kind, "e": STALE_ERROR})
            run_id = conn.execute(
                text("INSERT INTO batch_runs (kind, status, triggered_by, params, started_at) "
                     "VALUES (:k, 'running', :a, CAST(:p AS jsonb), now()) RETURNING run_id"),
                {"k": kind, "a": actor, "p": json.dumps(params, default=str)},
            ).scalar_one()
    except IntegrityError as exc:
        _release(lock, kind)
        raise Conflict(f"a {kind} job is already running; wait for it to finish") from exc
    except BaseException:
        _release(lock, kind)
        raise
    return RunRecorder(engine, run_id, _lock=lock, kind=kind)


def lock_held(conn: Connection, first: int, second: int) -> bool:
    """Whether some live session holds the advisory lock (first, second) in this database."""
    # pg_locks shows a two-key advisory lock as classid = first key, objid = second key, objsubid = 2
    return bool(conn.execute(text(
        "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted AND objsubid = 2 "
        "AND database = (SELECT oid FROM pg_database WHERE datname = current_database()) "
        "AND classid = CAST(:a AS oid) AND objid = CAST(CAST(:b AS integer) AS oid))"),
        {"a": first, "b": second}).scalar_one())


def job_running(conn: Connection, kind: str) -> bool:
    """Whether a live process holds the kind's run lock, i.e. a job of that kind is running now."""
    return lock_held(conn, RUN_LOCK, conn.execute(text("SELECT hashtext(:k)"), {"k": kind}).scalar_one())


def _newest(conn: Connection, kind: str | None) -> dict[str, Any] | None:
    row = conn.execute(text(
        f"SELECT {_SUMMARY} FROM batch_runs WHERE CAST(:k AS text) IS NULL OR kind = :k "
        f"ORDER BY created_at DESC, run_id DESC LIMIT 1"), {"k": kind}).mappings().first()
    return None if row is None else dict(row)


def latest_run(conn: Connection, kind: str | None = None) -> dict[str, Any] | None:
    """The newest batch run (of one kind, or of any) without its log; one whose process died reads as failed."""
    run = _newest(conn, kind)
    if run is None or run["status"] not in ACTIVE or job_running(conn, run["kind"]):
        return run
    # the lock is free: the job died, or it finished meanwhile (it writes its row before it unlocks)
    again = _newest(conn, kind)
    if again is None or again["run_id"] != run["run_id"] or again["status"] not in ACTIVE:
        return again
    return {**again, "status": "failed", "error": STALE_ERROR}


def finish_run(rec: RunRecorder, status: str, error: str | None = None) -> None:
    """Closes the row as succeeded or failed, with stages, metrics, log and error text; releases the lock."""
    try:
        with rec.engine.begin() as conn:
            conn.execute(
                text("UPDATE batch_runs SET status = :s, finished_at = now(), error = :e, "
                     "progress = CASE WHEN :s = 'succeeded' THEN 1 ELSE progress END, "
                     "stages = CAST(:st AS jsonb), metrics = CAST(:m AS jsonb), log = :log WHERE run_id = :id"),
                {"s": status, "e": error, "st": json.dumps(rec.stages, default=str),
                 "m": json.dumps(rec.metrics, default=str), "log": "\n".join(rec._log_lines), "id": rec.run_id},
            )
    finally:
        if rec._lock is not None:
            _release(rec._lock, rec.kind)
            rec._lock = None


@contextmanager
def recorded_run(engine: Engine, kind: str, actor: str, params: dict[str, Any]) -> Iterator[RunRecorder]:
    """Runs the body as a recorded job: succeeded on normal exit, failed (with the error) on exception."""
    rec = start_run(engine, kind, actor, params)
    try:
        yield rec
    except BaseException as exc:
        detail = f"{type(exc).__name__}: {exc}"
        log.error("%s run %s failed: %s", kind, rec.run_id, detail)
        if not isinstance(exc, PdeError):  # an error we raised says what to do; anything else needs its stack
            rec._log_lines.append(traceback.format_exc(limit=5))
        finish_run(rec, "failed", detail)
        raise
    finish_run(rec, "succeeded")
