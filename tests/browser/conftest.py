"""Browser-test fixtures: a copy of the session's demo bank (generated, trained and scored by the real
pipeline, see tests/conftest.py), the real dashboard (`pde dashboard`) on a free port, and headless Chromium.
`serve` runs the dashboard on a copy of another bank (with its own data directory and settings) for a module's
own fixture.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import create_engine

from predelinquency.operations.users import create_user
from tests.support.dashboard import ROOT, SCREENSHOTS
from tests.support.db import create_database, drop_database
from tests.support.users import PASSWORD

CHROMIUM = "/usr/bin/chromium"
PDE = [sys.executable, "-m", "predelinquency.cli"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def serve(pg_server_url: str, template: str, data_dir: Path, env_extra: dict[str, str],
          tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    """`pde dashboard` on a new copy of the template database, with PDE_DATA_DIR data_dir and the env_extra
    settings, a manager and an officer to log in: {url, db, engine, users}; stopped and dropped afterwards."""
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium)")
    db = create_database(pg_server_url, template)
    env = {**os.environ, "DATABASE_URL": db, "PDE_DATA_DIR": str(data_dir), **env_extra}
    eng = create_engine(db)
    with eng.begin() as conn:
        users = {"manager": create_user(conn, "lead_manager", PASSWORD, "manager", "cli:test", "Maya Lindqvist"),
                 "officer": create_user(conn, "olivia", PASSWORD, "officer", "cli:test", "Olivia Grant")}
    SCREENSHOTS.mkdir(exist_ok=True)
    port = _free_port()
    log_path = tmp_path_factory.mktemp("browser") / "dashboard.log"
    log = log_path.open("w")
    proc = subprocess.Popen([*PDE, "dashboard", "--port", str(port), "--address", "127.0.0.1"], env=env,
                            stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if urllib.request.urlopen(f"{url}/_stcore/health", timeout=2).read() == b"ok":
                    break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"dashboard did not start: {log_path.read_text()[-2000:]}")
            time.sleep(0.5)
        yield {"url": url, "db": db, "engine": eng, "users": users}
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()
        eng.dispose()
        drop_database(pg_server_url, db)


@pytest.fixture(scope="module")
def server(pg_server_url: str, demo_bank, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    """The dashboard served by `pde dashboard` on a copy of the demo bank: {url, db, engine, users}."""
    # the demo's model artifacts; the dashboard's jobs write their logs here too
    with serve(pg_server_url, demo_bank.template, demo_bank.data_dir,
               {"PDE_TRAINING__SEARCH_TRIALS": "1", "PDE_TRAINING__CV_FOLDS": "2"}, tmp_path_factory) as s:
        yield s


@pytest.fixture(scope="module")
def browser() -> Iterator:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        yield b
        b.close()
