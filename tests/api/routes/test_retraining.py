"""Retraining through the API, with a stand-in for `pde train --json` (the real one is exercised in test_pipeline)."""

import contextlib
import os
import signal
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from predelinquency.api.app import create_app
from predelinquency.db.runs import finish_run, start_run
from predelinquency.settings import Settings
from tests.support.api import Api, make_api
from tests.support.jobs import killed_run

# waits for a release file (so a test controls how long "training" takes), then answers like `pde train --json`
FAKE_TRAIN = """
import json, os, sys, time
end = time.time() + 60
while not os.path.exists(sys.argv[1]) and time.time() < end:
    time.sleep(0.05)
print("training...", file=sys.stderr)
if os.path.exists(sys.argv[1] + ".fail"):
    print("error: behavioural training needs customer_daily rows; run pde generate first", file=sys.stderr)
    sys.exit(2)
print(json.dumps({"version": "v-test", "status": "challenger", "data_dir": os.environ["PDE_DATA_DIR"]}))
"""


@pytest.fixture
def release(tmp_path: Path) -> Path:
    return tmp_path / "release"


@pytest.fixture
def api(fresh_settings: Settings, release: Path) -> Iterator[Api]:
    for api in make_api(fresh_settings, train_command=(sys.executable, "-c", FAKE_TRAIN, str(release))):
        yield api
        release.touch()  # let anything still running finish; then make sure no supervisor outlives the test
        for (pid,) in api.sql("SELECT (after->>'supervisor_pid')::int FROM action_audit_log "
                              "WHERE action = 'trigger_retraining'"):
            with contextlib.suppress(ProcessLookupError):
                if os.getpgid(pid) == pid:  # still our supervisor's group (it runs in its own session)
                    os.killpg(pid, signal.SIGKILL)


def status(api: Api) -> dict[str, Any]:
    r = api.client.get("/retraining/status", headers=api.auth())
    assert r.status_code == 200, r.text
    return r.json()


def wait_finished(api: Api, timeout: float = 60) -> dict[str, Any]:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        s = status(api)
        if s["last_trigger"] and s["last_trigger"]["finished"] and not s["running"]:
            return s
        time.sleep(0.2)
    raise AssertionError(f"the retraining job did not finish: {s}")


def test_officer_may_not_trigger(api: Api):
    r = api.client.post("/retraining/trigger", headers=api.auth("officer"))
    assert r.status_code == 403 and "may not trigger model retraining" in r.json()["detail"]
    assert status(api) == {"running": False, "latest_run": None, "last_trigger": None}


def test_one_job_at_a_time_and_its_outcome_in_the_status(api: Api, release: Path):
    r = api.client.post("/retraining/trigger", headers=api.auth("manager"))
    assert r.status_code == 202, r.text
    started = r.json()
    assert started["triggered_by"] == "manager1" and started["finished"] is False
    s = status(api)
    assert s["running"] is True and s["last_trigger"]["trigger_id"] == started["trigger_id"]
    r = api.client.post("/retraining/trigger", headers=api.auth("admin"))
    assert r.status_code == 409 and "already running" in r.json()["detail"]
    release.touch()
    done = wait_finished(api)["last_trigger"]
    assert done["exit_code"] == 0 and done["error"] is None and done["result"]["version"] == "v-test"
    assert done["result"]["data_dir"] == str(api.settings.data_dir.resolve())  # the child got our settings
    audit = api.sql("SELECT actor, action FROM action_audit_log WHERE entity = 'retraining' ORDER BY audit_id")
    assert [tuple(a) for a in audit] == [("manager1", "trigger_retraining"),
                                         ("system:api-retraining", "retraining_finished")]
    # once it has finished, the next trigger is accepted
    assert api.client.post("/retraining/trigger", headers=api.auth("admin")).status_code == 202
    assert wait_finished(api)["last_trigger"]["triggered_by"] == "admin1"


def test_two_workers_triggering_at_once_start_one_job(api: Api, release: Path):
    """Two apps (as two uvicorn workers would be) on one database: the advisory lock lets exactly one job start."""
    command = api.client.app.state.api.retrainer.command
    other = TestClient(create_app(api.settings, warm_up=False, train_command=command))
    with ThreadPoolExecutor(2) as pool:
        answers = list(pool.map(lambda c: c.post("/retraining/trigger", headers=api.auth("admin")),
                                [api.client, other]))
    assert sorted(r.status_code for r in answers) == [202, 409], [r.text for r in answers]
    release.touch()
    assert wait_finished(api)["last_trigger"]["exit_code"] == 0
    assert api.sql("SELECT count(*) FROM action_audit_log WHERE action = 'trigger_retraining'")[0][0] == 1


def test_a_failed_job_reports_its_own_error(api: Api, release: Path):
    Path(str(release) + ".fail").touch()
    release.touch()
    assert api.client.post("/retraining/trigger", headers=api.auth("admin")).status_code == 202
    done = wait_finished(api)["last_trigger"]
    assert done["exit_code"] == 2 and done["result"] is None
    assert done["error"] == "behavioural training needs customer_daily rows; run pde generate first"


def test_a_train_run_from_elsewhere_blocks_the_trigger(api: Api):
    run = start_run(api.engine, "train", "cli:ops", {})  # a live `pde train`: it holds the run lock
    r = api.client.post("/retraining/trigger", headers=api.auth("manager"))
    assert r.status_code == 409 and "started by cli:ops" in r.json()["detail"]
    s = status(api)
    assert s["running"] is True and s["latest_run"]["triggered_by"] == "cli:ops" and s["last_trigger"] is None
    finish_run(run, "succeeded")
    assert status(api)["running"] is False


def test_a_killed_train_run_from_elsewhere_does_not_block_the_trigger(api: Api, release: Path):
    killed_run(api.settings.database_url, "train")  # its row still says running; its lock died with it
    s = status(api)
    assert s["running"] is False and s["latest_run"]["status"] == "failed"
    assert "stopped without finishing" in s["latest_run"]["error"]
    release.touch()
    assert api.client.post("/retraining/trigger", headers=api.auth("manager")).status_code == 202
    assert wait_finished(api)["last_trigger"]["exit_code"] == 0


def test_a_killed_job_frees_the_lock_and_says_so(api: Api):
    assert api.client.post("/retraining/trigger", headers=api.auth("manager")).status_code == 202
    (pid,) = api.sql("SELECT (after->>'supervisor_pid')::int FROM action_audit_log "
                     "WHERE action = 'trigger_retraining'")[0]
    os.killpg(pid, signal.SIGKILL)
    end = time.monotonic() + 30
    while status(api)["running"] and time.monotonic() < end:
        time.sleep(0.1)
    s = status(api)
    assert s["running"] is False and s["last_trigger"]["finished"] is False
    assert "stopped without reporting" in s["last_trigger"]["error"]
    assert api.client.post("/retraining/trigger", headers=api.auth("manager")).status_code == 202
