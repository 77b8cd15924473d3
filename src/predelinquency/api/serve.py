"""`pde api`: uvicorn serving `app_from_env` in one or more worker processes."""

from __future__ import annotations

import logging
import os
import socket

import uvicorn
from uvicorn.supervisors import Multiprocess

from predelinquency.db.engine import database_url
from predelinquency.settings import Settings

log = logging.getLogger(__name__)
APP = "predelinquency.api.app:app_from_env"


def tcp_listener(host: str, port: int) -> socket.socket:
    """A bound, inheritable TCP socket created with proto=IPPROTO_TCP.

    uvicorn's own multi-worker listener leaves proto at 0; accepted connections inherit it and asyncio then
    skips TCP_NODELAY, so every keep-alive request after the first waits ~40 ms for a delayed ACK
    (uvicorn issue #3149). With the protocol given explicitly, the workers' connections get TCP_NODELAY.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.set_inheritable(True)
    return sock


def serve(settings: Settings, host: str, port: int, workers: int) -> None:
    """Runs the API until stopped; with workers > 1, uvicorn's supervisor restarts a worker that dies."""
    if not settings.database_url:
        # the embedded server is started once, here: the workers connect to it instead of racing to start it,
        # as the application role; the retraining jobs they start connect as the jobs role
        os.environ["DATABASE_URL"] = database_url(settings, role="app")
        os.environ["DATABASE_JOBS_URL"] = database_url(settings, role="jobs")
    config = uvicorn.Config(APP, factory=True, host=host, port=port, workers=workers)
    if workers == 1:
        uvicorn.Server(config).run()
        return
    sock = tcp_listener(host, port)
    log.info("serving on http://%s:%d with %d workers", host, port, workers)
    try:
        Multiprocess(config, sockets=[sock]).run()
    finally:
        sock.close()
