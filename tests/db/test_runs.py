import time

import pytest
from sqlalchemy import create_engine, text

from predelinquency.db.runs import finish_run, job_running, latest_run, recorded_run, start_run
from predelinquency.errors import Conflict
from tests.support.jobs import killed_run

KINDS = ("generate", "train", "nightly", "ingest", "rollup")  # the batch_runs.kind CHECK


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
    killed_run(fresh_db, "train")  # a real process, killed before it could record anything else
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


def test_readers_see_a_killed_job_as_failed_from_its_free_lock(fresh_db: str):
    killed_run(fresh_db, "nightly")
    eng = create_engine(fresh_db)
    with eng.connect() as c:
        assert c.execute(text("SELECT status FROM batch_runs")).scalar_one() == "running"  # the row is unchanged
        run = latest_run(c)
        assert not job_running(c, "nightly")
    assert run is not None and run["kind"] == "nightly" and run["status"] == "failed"
    assert "stopped without finishing" in run["error"] and "log" not in run
    eng.dispose()


@pytest.mark.parametrize("kind", KINDS)
def test_a_live_job_reads_as_running_for_every_kind(fresh_db: str, kind: str):
    eng = create_engine(fresh_db)
    rec = start_run(eng, kind, "cli:ops", {})
    with eng.connect() as c:
        assert job_running(c, kind) and latest_run(c, kind)["status"] == "running"
        assert not any(job_running(c, k) for k in KINDS if k != kind)
    finish_run(rec, "succeeded")
    with eng.connect() as c:
        assert not job_running(c, kind) and latest_run(c)["status"] == "succeeded"
    eng.dispose()


def test_a_job_run_as_a_step_of_another_fills_its_share_of_the_bar(fresh_db: str):
    eng = create_engine(fresh_db)

    def shown(rec) -> float:
        time.sleep(0.3)  # past the progress writes' throttle
        with eng.connect() as c:
            return c.execute(text("SELECT progress FROM batch_runs WHERE run_id = :r"), {"r": rec.run_id}).scalar_one()

    with recorded_run(eng, "generate", "alice", {}) as rec:
        rec.progress(0.5, "outer half way")
        assert shown(rec) == pytest.approx(0.5)
        with rec.sub_range(0.5, 0.75):  # e.g. day 3 of 4's nightly in `pde advance`
            rec.progress(0.0, "inner starts")
            assert shown(rec) == pytest.approx(0.5)
            rec.progress(0.5, "inner half way")
            assert shown(rec) == pytest.approx(0.625)
            with rec.sub_range(0.5, 1.0):  # ranges nest
                rec.progress(0.5, "a step of the inner job")
                assert shown(rec) == pytest.approx(0.6875)
            rec.progress(0.9, "inner again")
            assert shown(rec) == pytest.approx(0.725)
        rec.progress(0.8, "outer again")  # the block's range is gone
        assert shown(rec) == pytest.approx(0.8)
    eng.dispose()
