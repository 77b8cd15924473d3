"""Background jobs started from the dashboard: the real `pde` command in a detached process with its own log.

The job records its own batch_runs row (progress, log, status); the page only polls that table. A job is
never run inside the Streamlit server: a long retraining must not block this user, nor anybody else's session.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Engine

from predelinquency.db.audit import write_audit
from predelinquency.operations.accounts import User
from predelinquency.operations.permissions import authorise
from predelinquency.settings import REPO_ROOT, Settings

log = logging.getLogger("predelinquency.dashboard")


@dataclass(frozen=True)
class JobKind:
    """A job the dashboard can start: its batch_runs kind, the permission it needs, and how to describe it."""

    kind: str
    title: str
    permission: str
    description: str


JOB_KINDS = {
    "generate": JobKind("generate", "Generate synthetic data", "generate_data",
                        "A synthetic bank: customers, accounts, transactions, payments and daily balances."),
    "train": JobKind("train", "Retrain the model", "retrain_model",
                     "Trains a new ensemble on point-in-time snapshots and registers it as a challenger."),
    "nightly": JobKind("nightly", "Run nightly scoring", "run_nightly",
                       "Scores every customer with the champion, writes the worklist and measures drift."),
    "advance": JobKind("advance", "Advance the bank", "advance_bank",
                       "Continues the synthetic bank N more days (transactions, payments, the contacts' effects), "
                       "then runs the nightly: the business date moves, outcomes settle, new plans are drawn."),
}
NIGHTLY_CHOICES = ("last", "every", "none")  # `pde advance --nightly`


@dataclass(frozen=True)
class Launched:
    """A job this session started: its process, its log file and when it started."""

    kind: str
    pid: int
    log_path: str
    started_at: datetime
    command: tuple[str, ...]


# the server process's children, so their exit status can be read (and they do not linger as zombies)
_children: dict[int, subprocess.Popen] = {}
_finished: dict[int, int] = {}


def command(kind: str, customers: int | None = None, days: int | None = None, seed: int | None = None,
            reset: bool = False, nightly: str = "last", work_plan: bool = False) -> list[str]:
    """The `pde` command line for a job, run with this interpreter so it uses the same environment."""
    base = [sys.executable, "-m", "predelinquency.cli"]
    if kind == "generate":
        args = ["generate", "--customers", str(customers), "--days", str(days), "--seed", str(seed)]
        return base + args + (["--reset"] if reset else []) + ["--json"]
    if kind == "advance":
        args = ["advance", "--days", str(days), "--nightly", nightly]
        return base + args + (["--work-plan"] if work_plan else []) + ["--json"]
    if kind in ("train", "nightly"):
        return [*base, kind, "--json"]
    raise ValueError(f"unknown job kind {kind!r}")


def launch(engine: Engine, settings: Settings, user: User, kind: str, argv: list[str]) -> Launched:
    """Starts the job detached from this server (after checking the user may, and auditing that they did)."""
    spec = JOB_KINDS[kind]
    with engine.begin() as conn:
        current = authorise(conn, user, spec.permission)
        write_audit(conn, current.username, "start_job", "batch_run", None, None,
                    {"kind": kind, "command": " ".join(argv[2:])})
    log_dir = settings.data_dir.resolve() / "jobs"
    log_dir.mkdir(parents=True, exist_ok=True)
    started = datetime.now(UTC)
    path = log_dir / f"{kind}-{started:%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:6]}.log"
    env = dict(os.environ)
    # the CLI records its runs as 'cli:<login name>'; naming the dashboard user here makes batch_runs say who
    env["LOGNAME"] = f"{user.username}@dashboard"
    env["PDE_DATA_DIR"] = str(settings.data_dir.resolve())
    # the job connects as the role its command names (db/engine.py): with DATABASE_URL, the jobs' own URL if any
    for name, value in (("DATABASE_URL", settings.database_url), ("DATABASE_JOBS_URL", settings.database_jobs_url)):
        if value:
            env[name] = value
    with path.open("wb") as out:
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                cwd=REPO_ROOT, env=env, start_new_session=True)
    _children[proc.pid] = proc
    log.info("%s started %s job (pid %s): %s", user.username, kind, proc.pid, " ".join(argv))
    return Launched(kind, proc.pid, str(path), started, tuple(argv))


def exit_status(pid: int) -> int | None:
    """The job's exit status once it has ended; None while it runs (or if another server process started it)."""
    if pid in _finished:
        return _finished[pid]
    proc = _children.get(pid)
    code = proc.poll() if proc is not None else None
    if code is not None:  # reaped: remembered, so later polls still know how it ended
        _finished[pid] = code
        _children.pop(pid, None)
    return code


def refusal(output: str) -> str | None:
    """The CLI's own refusal in a job's output (its last 'error: …' line), if it printed one."""
    lines = [line.strip() for line in output.splitlines() if line.strip().startswith("error:")]
    return lines[-1].removeprefix("error:").strip() if lines else None


def tail(path: str, max_bytes: int = 20_000) -> str:
    """The end of a job's own log file (what it printed, including errors before it could record anything)."""
    p = Path(path)
    if not p.is_file():
        return ""
    with p.open("rb") as f:
        size = f.seek(0, os.SEEK_END)
        f.seek(max(0, size - max_bytes))
        return f.read().decode("utf-8", errors="replace")
