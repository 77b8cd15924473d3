"""Transactions as parallel numpy columns while a chunk is simulated (no per-row Python objects)."""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

# codes index these tuples: the ingest schema's lists, in the order of sql/006's enum types
from predelinquency.domain.vocabulary import TXN_CATEGORIES as CATEGORIES
from predelinquency.domain.vocabulary import TXN_CHANNELS as CHANNELS

CAT = {name: i for i, name in enumerate(CATEGORIES)}
CH = {name: i for i, name in enumerate(CHANNELS)}


@dataclass
class Events:
    """Transactions of one chunk: row i is customer `cust[i]` (local index) on day `day[i]`."""

    cust: np.ndarray        # int32 local customer index
    day: np.ndarray         # int32 day index
    sec: np.ndarray         # int32 seconds after midnight
    cents: np.ndarray       # int64 signed amount: > 0 money in, < 0 money out
    cat: np.ndarray         # int8 index into CATEGORIES
    chan: np.ndarray        # int8 index into CHANNELS
    failed: np.ndarray      # bool: a direct debit that bounced (moves no money)

    def __len__(self) -> int:
        return len(self.cust)

    def where(self, mask: np.ndarray) -> Events:
        """The events selected by a boolean mask."""
        return Events(*(getattr(self, f.name)[mask] for f in fields(self)))

    @staticmethod
    def concat(parts: list[Events]) -> Events:
        """All parts as one set of columns."""
        return Events(*(np.concatenate([getattr(p, f.name) for p in parts]) for f in fields(Events)))


def make_events(cust: np.ndarray, day: np.ndarray, sec: np.ndarray, cents: np.ndarray, cat: int | np.ndarray,
                chan: int | np.ndarray, failed: bool | np.ndarray = False) -> Events:
    """Events with scalar category/channel/failed broadcast to the length of cust."""
    n = len(cust)
    return Events(
        cust.astype(np.int32), day.astype(np.int32), np.asarray(sec).astype(np.int32),
        np.asarray(cents).astype(np.int64),
        np.broadcast_to(np.asarray(cat, np.int8), (n,)).copy(),
        np.broadcast_to(np.asarray(chan, np.int8), (n,)).copy(),
        np.broadcast_to(np.asarray(failed, bool), (n,)).copy(),
    )


def seconds(rng: np.random.Generator, n: int, start_hour: float, end_hour: float) -> np.ndarray:
    """Uniform times of day between two hours, in seconds after midnight."""
    return rng.integers(int(start_hour * 3600), int(end_hour * 3600), n, dtype=np.int32)
