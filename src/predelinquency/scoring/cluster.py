"""The nightly's shards as tasks on a Dask distributed cluster (`pde nightly --cluster local:N | tcp://HOST:PORT`).

Each task runs in a worker process: it opens its own connection, reads its shard's inputs, scores them with the
run's models and commits its rows into risk_scores_staging under the run's id (a retried task first deletes what an
earlier attempt of the same shard left). The coordinator moves the staged rows into risk_scores in the run's one
final transaction (scoring/nightly.py), so readers never see half a run; a shard that still fails after its
retries fails the run and leaves the previous scores untouched.

No secret crosses the Dask network: a task carries the database URL without its password and the settings without
their database URLs; a worker takes the password from its own environment (task_target / _worker_engine).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import URL, make_url

from predelinquency.db.engine import normalise_url
from predelinquency.errors import PdeError
from predelinquency.model.drift import DriftAccumulator
from predelinquency.scoring.shard import RunModels, score_shard
from predelinquency.settings import Settings, get_settings

STAGING = "risk_scores_staging"
# how long a failed run waits for its other running tasks before it clears its staged rows (rows a task commits
# later are cleared by the next run: clear_staging(..., stale=True))
STOP_WAIT_SECONDS = 300
_LOCAL_MAX_WORKERS = 64


@dataclass
class ShardScored:
    """What one shard's task did: its rows, tiers and drift counts, and where its time went."""

    bounds: tuple[int, int]
    rows: int
    tiers: dict[str, int]
    drift: DriftAccumulator
    seconds: dict[str, float] = field(default_factory=dict)   # read, score, write, total


def parse_cluster(spec: str) -> tuple[str, int | str]:
    """('local', N) or ('tcp', 'tcp://host:port') from a --cluster value; PdeError naming the forms otherwise."""
    spec = spec.strip()
    if spec.startswith("local:"):
        n = spec.removeprefix("local:")
        if n.isdigit() and 1 <= int(n) <= _LOCAL_MAX_WORKERS:
            return "local", int(n)
        raise PdeError(f"cluster {spec!r}: local:N needs N workers between 1 and {_LOCAL_MAX_WORKERS}")
    if spec.startswith("tcp://") and len(spec) > len("tcp://") and ":" in spec.removeprefix("tcp://"):
        return "tcp", spec
    raise PdeError(f"cluster {spec!r} is neither local:N (a cluster of N worker processes for this run) "
                   "nor tcp://HOST:PORT (a running Dask scheduler)")


@contextmanager
def cluster_client(spec: str) -> Iterator[Any]:
    """A Dask client on the cluster `spec` names; a local cluster lives only as long as the block."""
    from dask.distributed import Client, LocalCluster  # imported here: only a cluster run needs Dask

    kind, where = parse_cluster(spec)
    if kind == "local":
        # one thread per worker process: each shard's scoring is numpy/GBM work that holds the GIL in places
        with LocalCluster(n_workers=int(where), threads_per_worker=1, processes=True, dashboard_address=None,
                          silence_logs=40) as local, Client(local) as client:
            yield client
        return
    try:
        client = Client(str(where), timeout="10s")
    except OSError as exc:
        raise PdeError(f"no Dask scheduler answers at {where}: {exc}") from exc
    with client:
        yield client


def task_target(engine: Engine, settings: Settings) -> tuple[str, Settings]:
    """What a task is given to reach the database: the engine's URL without its password, and the settings
    without their database URLs (tasks are pickled across the Dask network, which may not be encrypted)."""
    url = engine.url._replace(password=None).render_as_string(hide_password=False)  # URL.set ignores a None
    return url, settings.model_copy(update={"database_url": None, "database_jobs_url": None,
                                            "database_owner_url": None})


def _with_password(url: URL) -> URL:
    """The task's URL with the password of the same user, host, port and database from this worker's own
    DATABASE_JOBS_URL, DATABASE_URL or DATABASE_OWNER_URL (docker-compose gives every service the same ones; a
    local cluster's workers inherit the nightly's environment). Unchanged when none matches: a socket needs no
    password, and libpq may still find one in PGPASSWORD or ~/.pgpass."""
    own = get_settings()
    for candidate in (own.database_jobs_url, own.database_url, own.database_owner_url):
        if not candidate:
            continue
        known = make_url(normalise_url(candidate))
        if (known.username, known.host, known.port, known.database) == (url.username, url.host, url.port,
                                                                         url.database):
            return url.set(password=known.password)
    return url


_worker_engines: dict[str, Engine] = {}


def _worker_engine(url: str) -> Engine:
    """One engine per worker process and database (tasks of later runs reuse its connections)."""
    engine = _worker_engines.get(url)
    if engine is None:
        engine = create_engine(_with_password(make_url(url)), pool_pre_ping=True, pool_size=2, max_overflow=2)
        _worker_engines[url] = engine
    return engine


def score_shard_task(url: str, settings: Settings, as_of: date, bounds: tuple[int, int], run_id: int,
                     version_now: int, at_latest: bool, model_version: str, uplift_version: str | None,
                     baseline: dict[str, Any]) -> ShardScored:
    """Runs in a worker: scores one shard into risk_scores_staging and commits it."""
    started = time.perf_counter()
    engine = _worker_engine(url)
    drift = DriftAccumulator(baseline)
    with engine.begin() as conn:
        models = RunModels.load(conn, settings, model_version, uplift_version)
        conn.execute(text(f"DELETE FROM {STAGING} WHERE batch_run_id = :r AND customer_id BETWEEN :lo AND :hi"),
                     {"r": run_id, "lo": bounds[0], "hi": bounds[1]})
        rows, seconds = score_shard(conn, settings, models, as_of, bounds, run_id, version_now, at_latest, drift,
                                    table=STAGING)
    tiers = {t: c for t, c in rows.group_by("tier").len().iter_rows()} if rows.height else {}
    seconds["total"] = round(time.perf_counter() - started, 3)
    return ShardScored(bounds, rows.height, tiers, drift, seconds)


def score_on_cluster(client: Any, url: str, settings: Settings, as_of: date, all_bounds: list[tuple[int, int]],
                     run_id: int, version_now: int, at_latest: bool, model_version: str, uplift_version: str | None,
                     baseline: dict[str, Any], progress: Callable[[int, ShardScored], None]) -> list[ShardScored]:
    """Every shard's task on the cluster, retried up to settings.nightly.task_retries times; the shards' results
    in shard order. PdeError naming the shard when one still fails (its rows and the others' stay staged until
    the coordinator clears them)."""
    from dask.distributed import as_completed, wait

    futures = {client.submit(score_shard_task, url, settings, as_of, bounds, run_id, version_now, at_latest,
                             model_version, uplift_version, baseline, key=f"pde-nightly-{run_id}-shard-{i}",
                             retries=settings.nightly.task_retries, pure=False): i
               for i, bounds in enumerate(all_bounds)}
    done: dict[int, ShardScored] = {}
    try:
        for future in as_completed(futures):
            shard = futures[future]
            try:
                result: ShardScored = future.result()
            except Exception as exc:  # a task's error or a worker lost beyond the retries: both fail the run
                raise PdeError(f"nightly shard {shard + 1} (customers {all_bounds[shard][0]}–{all_bounds[shard][1]}) "
                               f"failed on the cluster (retried up to {settings.nightly.task_retries} times): "
                               f"{type(exc).__name__}: {exc}") from exc
            done[shard] = result
            progress(len(done), result)
    finally:
        # a failed run's other tasks keep running on their workers (cancelling a future does not stop a task that
        # has started) and would commit their shards after the run cleared its staged rows: let them finish first
        wait(list(futures), timeout=STOP_WAIT_SECONDS)
        for f in futures:
            if not f.done():
                f.cancel()
    return [done[i] for i in range(len(all_bounds))]


def clear_staging(engine: Engine, run_id: int, stale: bool = False) -> None:
    """Deletes a run's staged rows (after it moved them, or when it failed); stale: every other run's instead
    (a nightly runs alone, so rows of another run are what a failed run's late tasks left)."""
    with engine.begin() as conn:
        conn.execute(text(f"DELETE FROM {STAGING} WHERE batch_run_id {'<>' if stale else '='} :r"), {"r": run_id})
