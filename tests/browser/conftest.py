"""Browser-test fixtures: a populated database, the real dashboard (`pde dashboard`) on a free port, and
headless Chromium logged in as a manager.

The data comes from the real pipeline where it exists (`pde generate`, `pde train`, `pde nightly`); whatever
part is not available yet (the command is missing or fails) is replaced by representative rows written with
SQL (tests/dashboard/dashboard_support.py). Which source was used is printed and written next to the
screenshots (screenshots/DATA_SOURCE.txt).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT), str(ROOT / "tests" / "dashboard")]

from dashboard_support import PASSWORD, seed_scores_on_existing  # noqa: E402

from predelinquency.operations.users import create_user  # noqa: E402
from predelinquency.settings import Settings  # noqa: E402

SCREENSHOTS = Path(__file__).resolve().parent / "screenshots"
CHROMIUM = "/usr/bin/chromium"
TEMPLATE = "pde_template"  # the migrated template database made by tests/conftest.py
PDE = [sys.executable, "-m", "predelinquency.cli"]
# small and quick: the browser suite must stay within a few minutes on two shared cores
FAST_TRAINING = {"PDE_TRAINING__SEARCH_ITERATIONS": "1", "PDE_TRAINING__CV_FOLDS": "2"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _run(args: list[str], env: dict[str, str], timeout: float) -> tuple[bool, str]:
    """(succeeded, last output lines) of one `pde` command."""
    try:
        done = subprocess.run([*PDE, *args], env=env, capture_output=True, text=True, timeout=timeout, cwd=ROOT)
    except subprocess.TimeoutExpired:
        return False, f"timed out after {timeout:.0f} s"
    tail = (done.stdout + done.stderr).strip().splitlines()[-3:]
    return done.returncode == 0, " | ".join(tail)


def _populate(url: str, env: dict[str, str]) -> list[str]:
    """Fills the database, real pipeline first; returns one line per step saying where its data came from."""
    notes: list[str] = []
    ok, out = _run(["generate", "--customers", "300", "--days", "150", "--seed", "1", "--json"], env, 120)
    notes.append(f"pde generate: {'real pipeline' if ok else 'FAILED: ' + out}")
    if not ok:
        raise RuntimeError(f"pde generate failed: {out}")
    trained, out = _run(["train", "--json"], env, 240)
    notes.append(f"pde train: {'real pipeline' if trained else 'not available (' + out[:200] + ')'}")
    scored = False
    if trained:
        scored, out = _run(["nightly", "--json"], env, 180)
        notes.append(f"pde nightly: {'real pipeline' if scored else 'not available (' + out[:200] + ')'}")
    else:
        notes.append("pde nightly: skipped (no trained model)")
    if not scored:
        eng = create_engine(url)
        with eng.begin() as conn:
            seed_scores_on_existing(conn, Settings())
        eng.dispose()
        notes.append("models, risk scores and batch runs: representative rows written with SQL "
                     "(tests/dashboard/dashboard_support.py)")
    return notes


@pytest.fixture(scope="module")
def server(pg_server_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    """The dashboard served by `pde dashboard` on a populated database: {url, db, users, notes}."""
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium)")
    name = f"pde_browser_{uuid.uuid4().hex[:8]}"
    admin = create_engine(pg_server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f"CREATE DATABASE {name} TEMPLATE {TEMPLATE}"))
    db = make_url(pg_server_url).set(database=name).render_as_string(hide_password=False)
    data_dir = tmp_path_factory.mktemp("browser-data")
    env = {**os.environ, "DATABASE_URL": db, "PDE_DATA_DIR": str(data_dir), **FAST_TRAINING}
    notes = _populate(db, env)
    eng = create_engine(db)
    with eng.begin() as conn:
        users = {"manager": create_user(conn, "lead_manager", PASSWORD, "manager", "cli:test", "Maya Lindqvist"),
                 "officer": create_user(conn, "olivia", PASSWORD, "officer", "cli:test", "Olivia Grant")}
    SCREENSHOTS.mkdir(exist_ok=True)
    (SCREENSHOTS / "DATA_SOURCE.txt").write_text("\n".join(notes) + "\n")
    print("\nbrowser-test data:\n  " + "\n  ".join(notes))
    port = _free_port()
    log = (data_dir / "dashboard.log").open("w")
    proc = subprocess.Popen([*PDE, "dashboard", "--port", str(port), "--address", "127.0.0.1"], env=env,
                            stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            if urllib.request.urlopen(f"{url}/_stcore/health", timeout=2).read() == b"ok":
                break
        except OSError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"dashboard did not start: {(data_dir / 'dashboard.log').read_text()[-2000:]}")
        time.sleep(0.5)
    yield {"url": url, "db": db, "engine": eng, "users": users, "notes": notes}
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
    log.close()
    eng.dispose()
    with admin.connect() as c:
        c.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
    admin.dispose()


@pytest.fixture(scope="module")
def browser() -> Iterator:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        yield b
        b.close()
