import pytest
from sqlalchemy import create_engine, text

from predelinquency.db.runs import recorded_run, start_run
from predelinquency.errors import Conflict


def test_recorded_run_success_and_failure(fresh_db: str):
    eng = create_engine(fresh_db)
    with recorded_run(eng, "generate", "alice", {"customers": 10}) as rec:
        with rec.stage("load") as info:
            info["rows"] = 10
        rec.progress(0.5, "half way")
    with pytest.raises(RuntimeError), recorded_run(eng, "generate", "alice", {}):
        raise RuntimeError("disk full")
    with eng.connect() as c:
        rows = c.execute(text("SELECT status, progress, stages, error, log FROM batch_runs ORDER BY run_id")).all()
    assert rows[0].status == "succeeded" and rows[0].progress == 1
    assert rows[0].stages[0]["name"] == "load" and rows[0].stages[0]["rows"] == 10
    assert "half way" in rows[0].log
    assert rows[1].status == "failed" and "disk full" in rows[1].error
    eng.dispose()


def test_second_running_job_of_same_kind_conflicts(fresh_db: str):
    eng = create_engine(fresh_db)
    start_run(eng, "train", "alice", {})
    with pytest.raises(Conflict, match="already running"):
        start_run(eng, "train", "bob", {})
    start_run(eng, "nightly", "bob", {})  # other kinds are independent
    eng.dispose()


def test_a_killed_job_does_not_block_the_next_one(fresh_db: str):
    import subprocess
    import sys

    # a real process starts a train run and is killed before it can record anything else
    code = ("import os, signal; from sqlalchemy import create_engine; "
            "from predelinquency.db.runs import start_run; "
            f"start_run(create_engine({fresh_db!r}), 'train', 'cli:ops', {{}}); os.kill(os.getpid(), signal.SIGKILL)")
    assert subprocess.run([sys.executable, "-c", code], timeout=60).returncode == -9
    eng = create_engine(fresh_db)
    with eng.connect() as c:
        assert c.execute(text("SELECT status FROM batch_runs")).scalar_one() == "running"
    with recorded_run(eng, "train", "cli:ops", {}):
        pass
    with eng.connect() as c:
        rows = c.execute(text("SELECT status, error FROM batch_runs ORDER BY run_id")).all()
    assert rows[0].status == "failed" and "stopped without finishing" in rows[0].error
    assert rows[1].status == "succeeded"
    eng.dispose()
