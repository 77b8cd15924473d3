"""Benchmark the REST API as deployed: a real `pde api --workers 2` on 127.0.0.1 against a demo database.

Measures /predict latency for one known customer (sequential, keep-alive; target p50 ≤ 5 ms, p99 ≤ 20 ms),
throughput with concurrent clients (target ≥ 300 req/s) and /batch-predict of 1,000 customers (target ≤ 1 s).
Needs data, a champion model and nightly scores: DATABASE_URL, or PDE_DATA_DIR pointing at a data directory
with the embedded database (run-local.sh makes one).

Run: PDE_DATA_DIR=data .venv/bin/python bench/bench_api.py [--requests 500] [--concurrency 16]

A bench user ('bench_api', officer) is created once; its API key is created for the run and revoked after.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import socket
import statistics
import subprocess
import sys
import time
from typing import Any

from sqlalchemy import text

from predelinquency.db.engine import check_connection, get_engine
from predelinquency.errors import NotFound
from predelinquency.operations.accounts import get_user
from predelinquency.operations.apikeys import create_api_key, revoke_api_key
from predelinquency.operations.users import create_user
from predelinquency.settings import get_settings

ACTOR = "system:bench"
BENCH_USER = "bench_api"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def demo_customers(engine: Any, n: int) -> tuple[str, list[int]]:
    """(champion version, up to n customer ids from its latest scores, riskiest first)."""
    with engine.connect() as conn:
        version = conn.execute(text("SELECT version FROM model_versions WHERE status = 'champion'")).scalar()
        if version is None:
            sys.exit("no champion model: run pde train (or run-local.sh) first")
        ids = list(conn.execute(text(
            "SELECT customer_id FROM risk_scores WHERE model_version = :v AND as_of = "
            "(SELECT max(as_of) FROM risk_scores WHERE model_version = :v) ORDER BY pd DESC LIMIT :n"),
            {"v": version, "n": n}).scalars())
    if len(ids) < 1000:
        sys.exit(f"the champion's latest scores cover {len(ids)} customers; the batch figure needs 1,000")
    return version, ids


def bench_key(engine: Any) -> str:
    """A fresh API key for the bench user (created as an officer on first use)."""
    with engine.begin() as conn:
        try:
            get_user(conn, BENCH_USER)
        except NotFound:
            create_user(conn, BENCH_USER, secrets.token_urlsafe(24), "officer", ACTOR, full_name="API benchmark")
        return create_api_key(conn, BENCH_USER, ACTOR)


def start_server(port: int, workers: int, database_url: str) -> subprocess.Popen[bytes]:
    """`pde api` on 127.0.0.1:port, its access log discarded (it would cost the client CPU to read)."""
    env = {**os.environ, "DATABASE_URL": database_url}
    return subprocess.Popen([sys.executable, "-m", "predelinquency.cli", "api", "--host", "127.0.0.1",
                             "--port", str(port), "--workers", str(workers)],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _request_bytes(method: str, path: str, headers: dict[str, str], body: Any = None) -> bytes:
    data = json.dumps(body).encode() if body is not None else b""
    head = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", f"Content-Length: {len(data)}",
            *(f"{k}: {v}" for k, v in headers.items())]
    if body is not None:
        head.append("Content-Type: application/json")
    return ("\r\n".join(head) + "\r\n\r\n").encode() + data


def _split_response(buf: bytes) -> tuple[int, int, bytes] | None:
    """(status, content length, bytes after the head) once the head is complete, else None."""
    end = buf.find(b"\r\n\r\n")
    if end < 0:
        return None
    lines = buf[:end].split(b"\r\n")
    length = next(int(v) for k, _, v in (line.partition(b":") for line in lines[1:]) if k.lower() == b"content-length")
    return int(lines[0].split()[1]), length, buf[end + 4:]


class Http:
    """A minimal HTTP/1.1 keep-alive client for JSON requests.

    The benchmark measures the server: httpx spends CPU of its own per request, on the same cores as the
    server, which would be counted as server latency. This client spends next to nothing.
    """

    def __init__(self, port: int, headers: dict[str, str]) -> None:
        self.port, self.headers = port, headers
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=120)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def request(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        """(status, parsed JSON body)."""
        self.sock.sendall(_request_bytes(method, path, self.headers, body))
        buf = b""
        while (parsed := _split_response(buf)) is None:
            buf += self._recv()
        status, length, rest = parsed
        while len(rest) < length:
            rest += self._recv()
        return status, json.loads(rest)

    def _recv(self) -> bytes:
        chunk = self.sock.recv(1 << 16)
        if not chunk:
            raise ConnectionError("the server closed the connection")
        return chunk

    def close(self) -> None:
        self.sock.close()


def wait_ready(port: int, proc: subprocess.Popen[bytes], timeout: float = 180) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if proc.poll() is not None:
            sys.exit(f"pde api exited with status {proc.returncode}")
        try:
            client = Http(port, {})
            try:
                if client.request("GET", "/health")[1].get("status") == "ok":
                    return
            finally:
                client.close()
        except OSError:
            pass
        time.sleep(0.5)
    sys.exit("pde api did not become healthy in time")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def sequential(client: Http, customer_id: int, n: int) -> list[float]:
    """Milliseconds per /predict, one request at a time on one keep-alive connection."""
    times = []
    for _ in range(n):
        start = time.perf_counter()
        status, body = client.request("POST", "/predict", {"customer_id": customer_id})
        times.append((time.perf_counter() - start) * 1000)
        if status != 200:
            sys.exit(f"/predict answered {status}: {body}")
    return times


async def _throughput(port: int, headers: dict[str, str], ids: list[int], total: int, concurrency: int,
                      max_seconds: float) -> tuple[int, int, float]:
    """(ok, failed, seconds) of /predict requests from `concurrency` keep-alive connections, each one at a time."""
    done = errors = 0
    deadline = time.monotonic() + max_seconds

    async def worker(k: int) -> None:
        nonlocal done, errors
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.transport.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        i = k
        while done + errors < total and time.monotonic() < deadline:
            writer.write(_request_bytes("POST", "/predict", headers, {"customer_id": ids[i % len(ids)]}))
            buf = b""
            while (parsed := _split_response(buf)) is None:
                buf += await reader.read(1 << 16)
            status, length, rest = parsed
            if len(rest) < length:
                rest += await reader.readexactly(length - len(rest))
            done, errors = (done + 1, errors) if status == 200 else (done, errors + 1)
            i += concurrency
        writer.close()

    start = time.perf_counter()
    await asyncio.gather(*(worker(k) for k in range(concurrency)))
    return done, errors, time.perf_counter() - start


def batch(client: Http, ids: list[int], runs: int) -> list[float]:
    """Seconds per /batch-predict of these ids (after one warm-up call)."""
    client.request("POST", "/batch-predict", {"customer_ids": ids})
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        status, body = client.request("POST", "/batch-predict", {"customer_ids": ids})
        times.append(time.perf_counter() - start)
        if status != 200 or body["count"] != len(ids):
            sys.exit(f"/batch-predict answered {status}: {str(body)[:300]}")
    return times


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--requests", type=int, default=500, help="sequential /predict requests")
    ap.add_argument("--concurrency", type=int, default=16, help="concurrent clients for the throughput run")
    ap.add_argument("--throughput-requests", type=int, default=3000)
    ap.add_argument("--max-seconds", type=float, default=30.0, help="time limit of the throughput run")
    ap.add_argument("--batch-runs", type=int, default=5)
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()

    settings = get_settings()
    engine = get_engine(settings)
    check_connection(engine)
    version, ids = demo_customers(engine, 1000)
    key = bench_key(engine)
    port = free_port()
    headers = {"Authorization": f"Bearer {key}"}
    proc = start_server(port, args.workers, engine.url.render_as_string(hide_password=False))
    try:
        wait_ready(port, proc)
        client = Http(port, headers)
        known = ids[0]
        sequential(client, known, 50)  # warm-up: both workers have loaded the model by now
        source = client.request("POST", "/predict", {"customer_id": known})[1]["source"]
        lat = sequential(client, known, args.requests)
        spread = [t for cid in ids[:200] for t in sequential(client, cid, 1)]
        load = os.getloadavg()
        done, errors, secs = asyncio.run(_throughput(port, headers, ids, args.throughput_requests,
                                                     args.concurrency, args.max_seconds))
        client.close()  # idle through the throughput run: uvicorn has closed it (keep-alive timeout 5 s)
        client = Http(port, headers)
        b = batch(client, ids, args.batch_runs)
        client.close()
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        with engine.begin() as conn:
            revoke_api_key(conn, key, ACTOR)

    fig = {
        "p50": statistics.median(lat), "p90": percentile(lat, 0.9), "p99": percentile(lat, 0.99),
        "mean": statistics.fmean(lat), "spread_p50": statistics.median(spread),
        "spread_p99": percentile(spread, 0.99), "rps": done / secs, "done": done, "errors": errors, "secs": secs,
        "batch_median": statistics.median(b), "batch_max": max(b),
    }
    lines = [
        f"champion {version}; known customer {known} (served from: {source}); {args.workers} workers; "
        f"load average before the throughput run {load[0]:.1f}",
        f"/predict, one customer, {args.requests} sequential requests: p50 {fig['p50']:.1f} ms, "
        f"p90 {fig['p90']:.1f} ms, p99 {fig['p99']:.1f} ms, mean {fig['mean']:.1f} ms",
        f"/predict, 200 different customers one by one: p50 {fig['spread_p50']:.1f} ms, "
        f"p99 {fig['spread_p99']:.1f} ms",
        f"/predict throughput, {args.concurrency} concurrent clients: {fig['rps']:.0f} req/s "
        f"({done} ok, {errors} failed in {secs:.1f} s)",
        f"/batch-predict of 1,000 customers: median {fig['batch_median']:.2f} s, max {fig['batch_max']:.2f} s "
        f"over {args.batch_runs} runs",
    ]
    print("\n".join(lines))


if __name__ == "__main__":
    main()
