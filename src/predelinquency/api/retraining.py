"""Retraining from the API: `pde train --json` in a detached process, one at a time, with its outcome in the status.

Why it is built this way. `pde train` records its own batch_runs row through db.runs.recorded_run, and
the batch_runs partial unique index allows one queued/running 'train' row; so the API cannot insert that row
itself (the child's insert would then conflict with it). Instead:

1. the API checks there is no running 'train' job (started from the CLI or the dashboard) → 409; a 'running' row
   whose run lock is free belongs to a killed process and blocks nothing (db.runs.latest_run);
2. it starts a small supervisor (`python -m predelinquency.api.retrain_runner`) in a new session. The
   supervisor takes a PostgreSQL session advisory lock and only then answers "ready"; if the lock is taken it
   answers "busy" and the API returns 409. The lock is the atomic guard across API workers and hosts, and it
   is released by the database when the supervisor's connection ends — also when it is killed — so a crashed
   job never blocks retraining forever;
3. the supervisor runs `pde train --json`, keeps its output under data_dir/retraining/, and writes a
   'retraining_finished' audit row with the exit code, the JSON result or the error. A job that lost a race
   with a CLI `pde train` fails with that process' Conflict, and the status shows it.
"""

from __future__ import annotations

import contextlib
import logging
import os
import select
import signal
import subprocess
import sys
import threading
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, text

from predelinquency.api.errors import Unavailable
from predelinquency.db.audit import write_audit
from predelinquency.db.runs import ACTIVE, latest_run, lock_held
from predelinquency.errors import Conflict
from predelinquency.operations.accounts import User
from predelinquency.operations.permissions import authorise
from predelinquency.settings import Settings

log = logging.getLogger(__name__)
LOCK_KEYS = (72_831, 1_102)  # pg_advisory_lock(int, int): held by the supervisor while its job runs
RUNNER_ACTOR = "system:api-retraining"
DEFAULT_COMMAND = (sys.executable, "-m", "predelinquency.cli", "train", "--json")


def log_dir(settings: Settings) -> Path:
    """Where the supervisors keep each job's stdout and stderr."""
    return settings.data_dir.resolve() / "retraining"


def _stop(proc: subprocess.Popen[str]) -> None:
    """Kills the supervisor and the job it started (its own process group: it runs in a new session)."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)


@dataclass
class Retrainer:
    """Starts retraining jobs and reports on them; `command` is what the supervisor runs (tests swap it)."""

    settings: Settings
    command: Sequence[str] = DEFAULT_COMMAND
    ready_timeout: float = 30.0

    def _child_env(self, engine: Engine) -> dict[str, str]:
        # the child reads Settings from the environment: give it the same database and data directory as us
        env = dict(os.environ)
        env["DATABASE_URL"] = engine.url.render_as_string(hide_password=False)
        env["PDE_DATA_DIR"] = str(self.settings.data_dir.resolve())
        return env

    def _spawn(self, engine: Engine, trigger_id: str) -> subprocess.Popen[str]:
        args = [sys.executable, "-m", "predelinquency.api.retrain_runner", trigger_id, "--", *self.command]
        directory = log_dir(self.settings)
        directory.mkdir(parents=True, exist_ok=True)
        with (directory / f"{trigger_id}.supervisor.log").open("wb") as errors:
            proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=errors,
                                    env=self._child_env(engine), start_new_session=True, text=True)
        # reaped in the background so a finished supervisor does not linger as a zombie of this worker
        threading.Thread(target=proc.wait, name=f"reap-retrain-{proc.pid}", daemon=True).start()
        return proc

    def _first_line(self, proc: subprocess.Popen[str]) -> str:
        assert proc.stdout is not None
        ready, _, _ = select.select([proc.stdout], [], [], self.ready_timeout)
        line = proc.stdout.readline().strip() if ready else ""
        proc.stdout.close()
        return line

    def trigger(self, engine: Engine, conn: Connection, user: User) -> dict[str, Any]:
        """The started job's trigger record; Forbidden below manager, Conflict while a train job runs."""
        actor = authorise(conn, user, "retrain_model")
        running = latest_run(conn, "train")  # a run whose process was killed reads as failed: it blocks nothing
        if running is not None and running["status"] in ACTIVE:
            raise Conflict(f"a train job is already running (run {running['run_id']}, started by "
                           f"{running['triggered_by']} at {running['created_at']:%Y-%m-%d %H:%M}); wait for it")
        trigger_id = uuid.uuid4().hex
        proc = self._spawn(engine, trigger_id)
        answer = self._first_line(proc)
        if answer == "busy":
            raise Conflict("a retraining job started through the API is already running; see GET /retraining/status")
        if answer != "ready":
            _stop(proc)
            log.error("retraining supervisor %s did not start (answered %r); see %s", proc.pid, answer,
                      log_dir(self.settings) / f"{trigger_id}.supervisor.log")
            raise Unavailable("the retraining job could not be started; the server log has the details")
        try:
            at = conn.execute(text("SELECT now()")).scalar_one()
            write_audit(conn, actor.username, "trigger_retraining", "retraining", trigger_id, None,
                        {"command": "pde train --json", "supervisor_pid": proc.pid})
            conn.commit()
        except BaseException:
            _stop(proc)  # no job may run without the record of who started it
            raise
        log.info("%s triggered retraining %s (supervisor pid %s)", actor.username, trigger_id, proc.pid)
        return {"trigger_id": trigger_id, "triggered_by": actor.username, "triggered_at": at, "finished": False}

    def status(self, conn: Connection) -> dict[str, Any]:
        """Whether a train job runs, the newest 'train' batch run, and the newest API trigger with its outcome."""
        held = lock_held(conn, *LOCK_KEYS)
        run = latest_run(conn, "train")
        trig = conn.execute(text(
            "SELECT t.entity_id, t.actor, t.at, f.at AS finished_at, f.details FROM action_audit_log t "
            "LEFT JOIN action_audit_log f ON f.entity = 'retraining' AND f.entity_id = t.entity_id "
            "AND f.action = 'retraining_finished' WHERE t.entity = 'retraining' AND t.action = 'trigger_retraining' "
            "ORDER BY t.at DESC, t.audit_id DESC LIMIT 1")).first()
        trigger = None
        if trig is not None:
            details = trig.details or {}
            trigger = {"trigger_id": trig.entity_id, "triggered_by": trig.actor, "triggered_at": trig.at,
                       "finished": trig.finished_at is not None, "finished_at": trig.finished_at,
                       "exit_code": details.get("exit_code"), "result": details.get("result"),
                       "error": details.get("error")}
            if not held and trigger["finished"] is False:
                # the supervisor holds the lock until after it wrote its outcome: no lock, no outcome = it died
                trigger["error"] = "the job stopped without reporting an outcome (killed or lost its database)"
        running = bool(held) or (run is not None and run["status"] in ACTIVE)
        return {"running": running, "latest_run": run, "last_trigger": trigger}
