"""A batch run whose process was SIGKILLed: its row still says 'running', its advisory lock is gone."""

from __future__ import annotations

import signal
import subprocess
import sys


def killed_run(database_url: str, kind: str, actor: str = "cli:ops") -> None:
    """Starts a recorded run of this kind in a real process and SIGKILLs it before it records anything else."""
    code = ("import os, signal; from sqlalchemy import create_engine; from predelinquency.db.runs import start_run; "
            f"start_run(create_engine({database_url!r}), {kind!r}, {actor!r}, {{}}); "
            "os.kill(os.getpid(), signal.SIGKILL)")
    assert subprocess.run([sys.executable, "-c", code], timeout=60).returncode == -signal.SIGKILL
