"""The nightly's shards on a Dask LocalCluster of 2 worker processes: the same rows as in this process, a worker
killed mid-run is survived, and a shard that keeps failing fails the run with the previous scores untouched."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import cloudpickle
import dask
import polars as pl
import pytest
from dask.distributed import Client, LocalCluster, WorkerPlugin
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from predelinquency.errors import PdeError
from predelinquency.scoring.cluster import _with_password, parse_cluster, task_target
from predelinquency.scoring.nightly import run_nightly
from predelinquency.settings import Settings, get_settings
from tests.conftest import fast_training
from tests.support.bank import DemoBank
from tests.support.db import cloned_database

# the plugin below is sent to the workers by value: they cannot import the test package
cloudpickle.register_pickle_by_value(sys.modules[__name__])
VOLATILE = ("batch_run_id", "created_at")  # the run's own id and clock


class KillOnShard(WorkerPlugin):
    """Kills the worker process that starts shard `shard`'s task: once (a marker file), or every time."""

    def __init__(self, shard: int, marker: Path | None) -> None:
        self.shard, self.marker = shard, marker

    def transition(self, key, start, finish, **kwargs) -> None:
        mine = finish == "executing" and str(key).endswith(f"-shard-{self.shard}")
        if mine and (self.marker is None or not self.marker.exists()):
            if self.marker is not None:
                self.marker.touch()
            os._exit(1)


@pytest.fixture
def banks(pg_server_url: str, demo_bank: DemoBank) -> Iterator[tuple[Engine, Engine, Settings]]:
    """Two copies of the demo bank: one scored in this process, one on the cluster."""
    with cloned_database(pg_server_url, demo_bank.template) as a, cloned_database(pg_server_url,
                                                                                   demo_bank.template) as b:
        settings = fast_training(Settings(data_dir=demo_bank.data_dir, database_url=b))
        settings.nightly = settings.nightly.model_copy(update={"shards": 4})
        ea, eb = create_engine(a), create_engine(b)
        yield ea, eb, settings
        ea.dispose()
        eb.dispose()


def _scores(engine: Engine) -> pl.DataFrame:
    with engine.connect() as c:
        rows = c.execute(text("SELECT * FROM risk_scores ORDER BY as_of, model_version, customer_id"))
        return pl.DataFrame([r._asdict() for r in rows], infer_schema_length=None).drop(VOLATILE)


def _staged(engine: Engine) -> int:
    with engine.connect() as c:
        return c.execute(text("SELECT count(*) FROM risk_scores_staging")).scalar_one()


def test_local_cluster_scores_the_same_rows_as_the_process(banks, demo_bank: DemoBank):
    here, there, settings = banks
    run_nightly(here, settings, "system:test", demo_bank.as_of)
    result = run_nightly(there, settings, "system:test", demo_bank.as_of, cluster="local:2")
    assert result.rows > 0 and result.shards == 4
    assert _scores(there).equals(_scores(here))  # row for row, every column but the run's id and clock
    assert _staged(there) == 0
    stages = {s["name"]: s for s in result.stages}
    cluster = stages["score_shards_on_cluster"]
    assert "score_shards" not in stages and stages["move_staged_rows"]["rows"] == result.rows
    assert cluster["workers"] == 2 and len(cluster["shards"]) == 4
    assert all(s["read"] >= 0 and s["score"] > 0 and s["write"] >= 0 for s in cluster["shards"])


def test_a_worker_killed_mid_run_is_retried_and_the_rows_are_the_same(banks, demo_bank: DemoBank, tmp_path: Path):
    here, there, settings = banks
    run_nightly(here, settings, "system:test", demo_bank.as_of)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                      silence_logs=50) as local, Client(local) as client:
        client.register_plugin(KillOnShard(1, tmp_path / "killed-once"))
        result = run_nightly(there, settings, "system:test", demo_bank.as_of, client=client)
    assert (tmp_path / "killed-once").exists()  # a worker really died on shard 1
    assert result.rows > 0 and _scores(there).equals(_scores(here)) and _staged(there) == 0


def test_a_shard_that_keeps_failing_fails_the_run_and_keeps_the_previous_scores(banks, demo_bank: DemoBank):
    _, there, settings = banks
    before = _scores(there)
    # no second chances: the first lost worker fails its task
    with dask.config.set({"distributed.scheduler.allowed-failures": 0}), LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None, silence_logs=50) as local, \
            Client(local) as client:
        client.register_plugin(KillOnShard(2, None))
        with pytest.raises(PdeError, match=r"nightly shard \d+ \(customers \d+–\d+\) failed on the cluster"):
            run_nightly(there, settings, "system:test", demo_bank.as_of, client=client)
    assert _scores(there).equals(before) and _staged(there) == 0
    with there.connect() as c:
        status = c.execute(text("SELECT status FROM batch_runs ORDER BY run_id DESC LIMIT 1")).scalar_one()
    assert status == "failed"


@pytest.mark.parametrize("spec", ["local:0", "local:x", "cluster", "tcp://", "local:999"])
def test_a_bad_cluster_is_refused_by_name(spec: str):
    with pytest.raises(PdeError, match="local:N"):
        parse_cluster(spec)


def test_a_task_carries_no_password_across_the_dask_network():
    secret = "s3cret-jobs-pw"
    settings = Settings(database_url=f"postgresql://pde:{secret}@db.bank:5432/pde",
                        database_jobs_url=f"postgresql://pde_jobs:{secret}@db.bank:5432/pde",
                        database_owner_url=f"postgresql://pde_owner:{secret}@db.bank:5432/pde")
    engine = create_engine(f"postgresql+psycopg://pde_jobs:{secret}@db.bank:5432/pde")
    url, task_settings = task_target(engine, settings)
    assert secret.encode() not in cloudpickle.dumps((url, task_settings))
    assert make_url(url).username == "pde_jobs" and make_url(url).host == "db.bank"
    assert task_settings.nightly == settings.nightly and task_settings.actions == settings.actions


def test_a_worker_takes_the_password_from_its_own_environment(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("DATABASE_URL", "postgres://pde:app-pw@db.bank:5432/pde")
    monkeypatch.setenv("DATABASE_JOBS_URL", "postgres://pde_jobs:jobs-pw@db.bank:5432/pde")
    get_settings.cache_clear()
    try:
        task_url = make_url("postgresql+psycopg://pde_jobs@db.bank:5432/pde")
        assert _with_password(task_url).password == "jobs-pw"
        assert _with_password(task_url.set(username="pde")).password == "app-pw"
        # another server or database: no password of ours is sent to it (libpq's own sources still apply)
        assert _with_password(task_url.set(host="elsewhere")).password is None
        assert _with_password(task_url.set(database="other")).password is None
    finally:
        get_settings.cache_clear()
