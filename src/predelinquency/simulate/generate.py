"""`pde generate`: simulate the synthetic bank chunk by chunk and load it in one transaction, recorded
in batch_runs. Simulation and encoding run in worker threads ahead of the COPY, so the generator and the
database server work on the two cores at once."""

from __future__ import annotations

import contextlib
import json
import logging
import queue
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, text

from predelinquency.db.rollup import rollup_mismatches, set_watermark
from predelinquency.db.runs import Progress, RunRecorder, no_progress, recorded_run
from predelinquency.domain.daily import WINDOW_DAYS
from predelinquency.errors import PdeError
from predelinquency.settings import Settings
from predelinquency.simulate import load
from predelinquency.simulate.chunk import calibrate, simulate_chunk
from predelinquency.simulate.metrics import MissStats, chunk_miss_stats
from predelinquency.simulate.pieces import Ids, LabelSpill, Piece, chunk_pieces
from predelinquency.simulate.state import chunk_state
from predelinquency.simulate.timeline import DEFAULT_END, Timeline

log = logging.getLogger(__name__)
QUEUE_PIECES = 4   # encoded pieces waiting for COPY: bounds memory (~50 MB each)


def validate(settings: Settings, customers: int, days: int, seed: int) -> None:
    """Raises PdeError naming the first invalid argument."""
    need = WINDOW_DAYS + settings.features.outcome_days
    if customers <= 0:
        raise PdeError(f"--customers must be a positive number of customers, got {customers}")
    if days < need:
        raise PdeError(f"--days must be at least {need} (the {WINDOW_DAYS}-day feature window + "
                       f"features.outcome_days {settings.features.outcome_days}) so one labelled snapshot fits, "
                       f"got {days}")
    if seed < 0:
        raise PdeError(f"--seed must be zero or positive, got {seed}")
    sim = settings.simulation
    if sim.txn_per_month_min > sim.txn_per_month_max:
        raise PdeError("simulation.txn_per_month_min must not exceed simulation.txn_per_month_max")


def chunk_plan(customers: int, size: int) -> list[tuple[int, int]]:
    """(first customer id, count) of each chunk.

    The first chunks are small and grow 2.5-fold up to `size`: the server has nothing to COPY until the
    first chunk is simulated, and a chunk takes longer to COPY than to simulate, so each chunk is simulated
    while the previous one is still being copied.
    """
    out: list[tuple[int, int]] = []
    start, n = 0, max(size // 10, 1)
    while start < customers:
        count = min(n, customers - start)
        out.append((start + 1, count))
        start += count
        n = min(size, int(n * 2.5))
    return out


@dataclass
class ChunkDone:
    """Marker after a chunk's last piece: its quality figures and the worker's seconds on it."""

    customers: int
    stats: MissStats
    seconds: float
    index: int
    first_customer: int
    state: bytes        # the chunk's SimState at the end, from which `pde advance` continues


def _handed_over(q: queue.Queue, item: object, stop: threading.Event) -> bool:
    """Puts item on q, waiting while it is full; False if the load stopped meanwhile."""
    while not stop.is_set():
        try:
            q.put(item, timeout=0.2)
            return True
        except queue.Full:
            continue
    return False


def _simulate(out: queue.Queue, stop: threading.Event, alive: threading.Semaphore, seed: int, tl: Timeline,
              intercept: float, settings: Settings, chunks: list[tuple[int, int]]) -> None:
    """Worker: simulates chunks in order, handing over (chunk, its figures, seconds); then None, or the error."""
    try:
        for index, (first_id, n) in enumerate(chunks):
            while not alive.acquire(timeout=0.2):  # the encoder releases a chunk when it is done with it
                if stop.is_set():
                    return
            started = time.perf_counter()
            ch = simulate_chunk(seed, index, first_id, n, tl, intercept, settings.simulation)
            stats = chunk_miss_stats(ch)
            state = chunk_state(ch, seed, index, tl).to_bytes()
            if not _handed_over(out, (ch, stats, time.perf_counter() - started, index, state), stop):
                return
            del ch
        out.put(None)
    except BaseException as exc:  # handed on to the loading thread, which re-raises it
        _handed_over(out, exc, stop)


def _encode(out: queue.Queue, stop: threading.Event, alive: threading.Semaphore, simulated: queue.Queue,
            tl: Timeline, customers: int, spill_dir: Path) -> None:
    """Worker: cuts each simulated chunk into COPY pieces and hands them over, then the labels of all
    chunks (then None, or the error)."""
    ids = Ids()
    try:
        with LabelSpill(customers, tl, spill_dir) as labels:
            while (item := simulated.get()) is not None:
                if isinstance(item, BaseException):
                    raise item
                ch, stats, seconds, index, state = item
                n = ch.customers.n
                ch_first = ch.customers.customer_id[0]
                busy = time.perf_counter()
                waited = 0.0
                labels.add(ch)
                for piece in chunk_pieces(ch, tl, ids):
                    t0 = time.perf_counter()
                    if not _handed_over(out, piece, stop):
                        return
                    waited += time.perf_counter() - t0
                del ch, item
                alive.release()
                # busy time only: waiting for the COPY to take a piece is not generation
                done = ChunkDone(n, stats, seconds + time.perf_counter() - busy - waited, index,
                                 int(ch_first), state)
                if not _handed_over(out, done, stop):
                    return
            for piece in labels.pieces():
                if not _handed_over(out, piece, stop):
                    return
        out.put(None)
    except BaseException as exc:
        _handed_over(out, exc, stop)


def stream_pieces(seed: int, tl: Timeline, intercept: float, settings: Settings,
            chunks: list[tuple[int, int]]) -> Iterator[Piece | ChunkDone]:
    """COPY pieces and chunk markers in order, produced ahead by two worker threads.

    One thread simulates the next chunk while the other encodes the current one into pieces: with a
    single worker, the COPY ran dry for the whole simulation of every chunk.
    At most two chunks are alive: the one being encoded and the next. Labels come last (see LabelSpill).
    """
    alive = threading.Semaphore(2)
    simulated: queue.Queue = queue.Queue(maxsize=1)
    q: queue.Queue = queue.Queue(maxsize=QUEUE_PIECES)
    stop = threading.Event()
    workers = [threading.Thread(target=_simulate, args=(simulated, stop, alive, seed, tl, intercept, settings, chunks),
                                name="pde-simulate", daemon=True),
               threading.Thread(target=_encode, name="pde-encode", daemon=True,
                                args=(q, stop, alive, simulated, tl, sum(n for _, n in chunks), settings.data_dir))]
    for w in workers:
        w.start()
    try:
        while (item := q.get()) is not None:
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        for w in workers:
            while w.is_alive():  # unblock a worker waiting to hand something over
                for pending in (q, simulated):
                    with contextlib.suppress(queue.Empty):
                        pending.get_nowait()
                w.join(timeout=0.1)


def _load(engine: Engine, rec: RunRecorder, settings: Settings, tl: Timeline, customers: int, seed: int,
          reset: bool, progress: Progress) -> dict[str, Any]:
    """Everything inside the one transaction; returns counts and quality figures."""
    sim = settings.simulation
    chunks = chunk_plan(customers, sim.chunk_customers)
    rows = dict.fromkeys(load.LOAD_ORDER, 0)
    copy_seconds = dict.fromkeys(load.LOAD_ORDER, 0.0)
    stats = MissStats()
    gen_seconds = 0.0
    done = 0

    def report(fraction: float, message: str) -> None:
        rec.progress(fraction, message)
        progress(fraction, message)

    with engine.begin() as conn:
        if reset:
            with rec.stage("reset") as info:
                info["tables"] = load.reset(conn)
        else:
            load.refuse_if_populated(conn)
        report(0.01, "calibrating the miss rate")
        with rec.stage("calibrate") as info:
            intercept = calibrate(seed, tl, sim)
            info["intercept"] = round(intercept, 4)
        with rec.stage("prepare") as info:
            load.ensure_partitions(conn, tl.start, tl.end)
            restore = load.suspend_indexes(conn, load.BULK_TABLES)
            info["indexes_suspended"] = len(restore)
        started = time.perf_counter()
        for item in stream_pieces(seed, tl, intercept, settings, chunks):
            if isinstance(item, ChunkDone):
                gen_seconds += item.seconds
                stats += item.stats
                done += item.customers
                conn.execute(text("INSERT INTO simulation_state (chunk, first_customer, customers, last_day, state) "
                                  "VALUES (:k, :first, :n, :d, :s)"),
                             {"k": item.index, "first": item.first_customer, "n": item.customers, "d": tl.end,
                              "s": item.state})
                report(0.03 + 0.8 * done / customers, f"loaded {done:,} of {customers:,} customers")
                continue
            t0 = time.perf_counter()
            rows[item.table] += load.copy_piece(conn, item)
            copy_seconds[item.table] += time.perf_counter() - t0
        wall = time.perf_counter() - started
        rec.stages.append({"name": "generate", "seconds": round(gen_seconds, 3), "rows": done,
                           "note": "simulate and encode, in worker threads overlapping the copies"})
        for table in load.LOAD_ORDER:
            rec.stages.append({"name": f"copy {table}", "seconds": round(copy_seconds[table], 3), "rows": rows[table]})
        rec.stages.append({"name": "generate and copy (wall)", "seconds": round(wall, 3)})
        rec.stages.append({"name": "copy waiting for pieces", "seconds": round(wall - sum(copy_seconds.values()), 3),
                           "note": "the server idle while the generator catches up"})
        conn.execute(text("INSERT INTO simulation_bank (seed, intercept, start_date, last_day, params) "
                          "VALUES (:seed, :intercept, :start, :end, CAST(:params AS jsonb))"),
                     {"seed": seed, "intercept": intercept, "start": tl.start, "end": tl.end,
                      "params": json.dumps({"customers": customers, "days": tl.days, "chunks": chunks,
                                            "simulation": sim.model_dump(mode="json")})})
        # the business date: the day after the latest data day
        conn.execute(text("SELECT pde_move_business_date(:d)"), {"d": tl.end + timedelta(days=1)})
        report(0.84, "building indexes")
        with rec.stage("indexes") as info:
            info["statements"] = load.restore_indexes(conn, restore)
        report(0.94, "analysing the new tables")
        with rec.stage("analyze"):
            for table in load.ANALYZE_TABLES:
                conn.execute(text(f"ANALYZE {table}"))  # constant names
        report(0.97, "checking the rollup against SQL")
        with rec.stage("rollup check") as info:
            # the generator's daily rows must be what the nightly SQL rollup computes from transactions
            info["mismatches"] = rollup_mismatches(conn, tl.end, tl.end)
            if info["mismatches"]:
                raise RuntimeError(f"generated daily_balances differ from the SQL rollup on {tl.end} "
                                   f"for {info['mismatches']} customers")
        set_watermark(conn, tl.end)  # the rollup now reaches the generated bank's last day
    report(1.0, "done")
    return {"rows": rows, "stats": stats, "intercept": intercept}


def generate_bank(engine: Engine, settings: Settings, *, customers: int, days: int, seed: int,
                  end_date: date = DEFAULT_END, reset: bool = False, actor: str = "cli",
                  progress: Progress = no_progress) -> dict[str, Any]:
    """Summary of the synthetic bank just written: row counts, observed miss rate, true_pd quality, run id.

    Same seed, size and settings give identical data. Nothing is written if anything fails; without
    `reset` a database that already holds customers is refused (Conflict) before anything is recorded.
    """
    validate(settings, customers, days, seed)
    with engine.connect() as conn:
        load.require_schema(conn)
        if not reset:
            load.refuse_if_populated(conn)
    tl = Timeline(end_date, days)
    params = {"customers": customers, "days": days, "seed": seed, "end_date": end_date.isoformat(), "reset": reset,
              "chunk_customers": settings.simulation.chunk_customers,
              "target_miss_rate": settings.simulation.target_miss_rate}
    started = time.perf_counter()
    with recorded_run(engine, "generate", actor, params) as rec:
        out = _load(engine, rec, settings, tl, customers, seed, reset, progress)
        rows, stats = out["rows"], out["stats"]
        result = {
            "run_id": rec.run_id,
            "customers": rows["customers"],
            "accounts": rows["accounts"],
            "transactions": rows["transactions"],
            "payments": rows["payments"],
            "daily_rows": rows["daily_balances"],
            "labels": rows["labels"],
            "start_date": tl.start.isoformat(),
            "end_date": tl.end.isoformat(),
            "seed": seed,
            "observed_miss_rate": stats.miss_rate,
            "mean_true_pd": stats.mean_true_pd,
            "true_pd_auc": stats.auc,
            "miss_intercept": round(out["intercept"], 4),
            "seconds": round(time.perf_counter() - started, 2),
        }
        rec.metrics.update({k: v for k, v in result.items() if k != "run_id"})
    log.info("generated %s customers, %s transactions in %.1fs", customers, rows["transactions"], result["seconds"])
    return result

