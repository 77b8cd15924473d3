"""Explaining many rows block by block on every core.

The table lookups of oblivious.py and paths.py are numpy gathers, comparisons and sums, which release the
GIL: blocks of rows explained in threads use both cores of a small machine, as the libraries' own threaded
TreeSHAP did. A few rows (an API request) stay on the calling thread.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import numpy as np

_pool: tuple[int, ThreadPoolExecutor] | None = None  # (the process it belongs to, the pool)
_pool_lock = threading.Lock()


def _executor() -> ThreadPoolExecutor:
    global _pool
    with _pool_lock:
        # a forked child inherits the pool object but not its threads: it gets a pool of its own
        if _pool is None or _pool[0] != os.getpid():
            _pool = (os.getpid(), ThreadPoolExecutor(max_workers=os.cpu_count() or 1, thread_name_prefix="explain"))
        return _pool[1]


def by_blocks(fn: Callable[[np.ndarray], np.ndarray], X: np.ndarray, block_rows: int) -> np.ndarray:
    """fn applied to X's rows block_rows at a time (in threads when there are several blocks), stacked."""
    starts = range(0, len(X), block_rows)
    if len(starts) <= 1:
        return fn(X)
    parts = list(_executor().map(lambda lo: fn(X[lo:lo + block_rows]), starts))
    return np.concatenate(parts)
