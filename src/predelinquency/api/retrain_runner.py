"""`python -m predelinquency.api.retrain_runner TRIGGER_ID -- COMMAND...`: one API-started retraining job.

Takes the retraining advisory lock (answering "busy" on stdout if it is held, else "ready"), runs the command
with its output in data_dir/retraining/TRIGGER_ID.{out,err}, then writes a 'retraining_finished' audit row with
the exit code, the JSON the command printed and the error it reported. See api/retraining.py for the design.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

from sqlalchemy import text

from predelinquency.api.retraining import LOCK_KEYS, RUNNER_ACTOR, log_dir
from predelinquency.db.audit import write_audit
from predelinquency.db.engine import get_engine
from predelinquency.settings import get_settings

_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
MAX_ERROR = 2000


def _text(path: Path) -> str:
    try:
        return _ANSI.sub("", path.read_text(errors="replace"))
    except OSError:
        return ""


def json_result(stdout: str) -> dict[str, Any] | None:
    """The last line of the output that is a JSON object (what `--json` prints), or None."""
    for line in reversed(stdout.strip().splitlines()):
        try:
            value = json.loads(line)
        except ValueError:
            continue
        if isinstance(value, dict):
            return value
    return None


def error_text(stderr: str) -> str:
    """The job's own words for why it failed: its 'error:' line, else the last line it wrote."""
    lines = [ln.strip() for ln in stderr.strip().splitlines() if ln.strip()]
    if not lines:
        return "the job failed without writing an error message"
    flagged = [ln for ln in lines if ln.lower().startswith("error:")]
    return (flagged[-1].split(":", 1)[1].strip() if flagged else lines[-1])[:MAX_ERROR]


def _answer(word: str) -> None:
    print(word, flush=True)
    # the API reads one line and closes the pipe; nothing may be written to it afterwards
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)


def run_job(trigger_id: str, command: list[str], directory: Path) -> dict[str, Any]:
    """Runs the command to completion; {exit_code, result, error} for the audit row."""
    directory.mkdir(parents=True, exist_ok=True)
    out_path, err_path = directory / f"{trigger_id}.out", directory / f"{trigger_id}.err"
    try:
        with out_path.open("wb") as out, err_path.open("wb") as err:
            code = subprocess.call(command, stdin=subprocess.DEVNULL, stdout=out, stderr=err)
    except OSError as exc:
        return {"exit_code": None, "result": None, "error": f"could not run the training command: {exc}"}
    result = json_result(_text(out_path))
    error = None if code == 0 else error_text(_text(err_path))
    return {"exit_code": code, "result": result, "error": error, "log": str(err_path)}


def main(argv: list[str] | None = None) -> int:
    """Exit status: 0 the job ran (whatever its outcome), 3 another job holds the lock."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) < 3 or args[1] != "--":
        print("usage: python -m predelinquency.api.retrain_runner TRIGGER_ID -- COMMAND...", file=sys.stderr)
        return 2
    trigger_id, command = args[0], args[2:]
    settings = get_settings()
    engine = get_engine(settings, role="app")  # the API's role: it writes the outcome's audit row
    # a session lock, on a connection kept for the job's lifetime: the database frees it if this process dies
    with engine.connect() as lock_conn:
        got = lock_conn.execute(text("SELECT pg_try_advisory_lock(:a, :b)"),
                                {"a": LOCK_KEYS[0], "b": LOCK_KEYS[1]}).scalar_one()
        lock_conn.commit()  # the lock outlives the transaction; an open one would hold back vacuum for hours
        if not got:
            _answer("busy")
            return 3
        _answer("ready")
        try:
            details = run_job(trigger_id, command, log_dir(settings))
        except Exception as exc:  # whatever happened, the status must say the job ended
            details = {"exit_code": None, "result": None, "error": f"{type(exc).__name__}: {exc}"[:MAX_ERROR]}
        with engine.begin() as conn:
            write_audit(conn, RUNNER_ACTOR, "retraining_finished", "retraining", trigger_id, None, None, details)
        lock_conn.execute(text("SELECT pg_advisory_unlock(:a, :b)"), {"a": LOCK_KEYS[0], "b": LOCK_KEYS[1]})
        lock_conn.commit()
    engine.dispose()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
