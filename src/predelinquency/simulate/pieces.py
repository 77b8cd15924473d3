"""A simulated chunk cut into COPY pieces, in load order: CSV frames for the small tables, binary payloads
of at most `piece_rows` rows for transactions and daily_balances (bounded memory per piece); labels are
spilled to disk and loaded after the last chunk, in their key's order."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

from predelinquency.domain.daily import DAILY_COLUMNS
from predelinquency.simulate.binary_copy import (
    DATE,
    FLOAT8,
    INT2,
    INT8,
    NUMERIC2,
    PG_EPOCH_DAYS,
    TIMESTAMPTZ,
    Binary,
    Vocabulary,
    encode,
    numeric2,
)
from predelinquency.simulate.chunk import Chunk
from predelinquency.simulate.customers import CURRENT
from predelinquency.simulate.events import CATEGORIES, CHANNELS, Events
from predelinquency.simulate.frames import accounts_frame, customers_frame, payments_frame
from predelinquency.simulate.timeline import Timeline

PIECE_ROWS = 500_000
_COUNTS = ("txn_count", "card_count", "online_count", "atm_count", "gambling_count", "failed_debits")


@dataclass
class Frame:
    """Rows of a small table, loaded by CSV COPY."""

    table: str
    df: pl.DataFrame

    @property
    def rows(self) -> int:
        return self.df.height


Piece = Frame | Binary


@dataclass
class Ids:
    """Running id counters across chunks: transactions and payments are numbered in load order."""

    next_txn: int = 1
    next_payment: int = 1


_CATEGORY, _CHANNEL, _STATUS = Vocabulary(CATEGORIES), Vocabulary(CHANNELS), Vocabulary(("posted", "failed"))


def transactions_payload(customer_id: np.ndarray, ev: Events, epoch_day0: int, first_id: int, lo: int,
                         hi: int) -> Binary:
    """Events lo..hi-1 as transactions rows numbered from first_id + lo, in event order (customer, then time).

    That order makes each partition's heap presorted for the (customer_id, ts) index, whose build then
    skips most of its sort, and keeps a customer's rows together on disk for the per-customer reads.
    """
    sl = slice(lo, hi)
    cid = customer_id[ev.cust[sl]]
    # microseconds since 2000-01-01 UTC
    ts = ((epoch_day0 - PG_EPOCH_DAYS + ev.day[sl].astype(np.int64)) * 86400 + ev.sec[sl]) * 1_000_000
    return encode("transactions", [
        ("txn_id", INT8, first_id + np.arange(lo, hi, dtype=np.int64)), ("customer_id", INT8, cid),
        ("account_id", INT8, cid * 10 + CURRENT), ("ts", TIMESTAMPTZ, ts), ("amount", NUMERIC2, numeric2(ev.cents[sl])),
        ("category", _CATEGORY, ev.cat[sl]), ("channel", _CHANNEL, ev.chan[sl]),
        ("status", _STATUS, ev.failed[sl].astype(np.int8))], hi - lo)


def _daily(ch: Chunk, tl: Timeline, c0: int, c1: int) -> Binary:
    """daily_balances rows of customers c0..c1-1 (customer-major, then day)."""
    days = tl.days
    n = c1 - c0
    fields: list[tuple] = [
        ("customer_id", INT8, np.repeat(ch.customers.customer_id[c0:c1], days)),
        ("day", DATE, np.tile(np.arange(days) + tl.epoch_day0 - PG_EPOCH_DAYS, n)),
    ]
    for name in DAILY_COLUMNS[2:]:
        block = ch.daily[name][c0:c1].ravel()
        fields.append((name, INT2, block) if name in _COUNTS else (name, FLOAT8, block / 100.0))
    return encode("daily_balances", fields, n * days)


class LabelSpill:
    """Every chunk's true_pd, kept day-major in a temporary file until the last chunk is simulated.

    Labels then load in (as_of, customer_id) order, their primary key's, whose build skips most of its sort.
    A file rather than memory: 1 M customers x 180 days of float64 is 1.4 GB.
    Customer ids are 1..customers, in chunk order.
    """

    def __init__(self, customers: int, tl: Timeline, directory: Path | None = None) -> None:
        self.customers, self.tl = customers, tl
        if directory is not None:
            directory.mkdir(parents=True, exist_ok=True)
        self._file = tempfile.TemporaryFile(dir=directory)  # noqa: SIM115 -- lives for the whole load; see close
        self._file.truncate(customers * tl.days * 8)

    def add(self, ch: Chunk) -> None:
        """Writes the chunk's true_pd: one contiguous run per day."""
        first = int(ch.customers.customer_id[0]) - 1
        by_day = np.ascontiguousarray((np.clip(ch.true_pd, 0.0, 1.0) + 0.0).T)  # + 0.0: no -0.0
        for day, row in enumerate(by_day):
            self._file.seek((day * self.customers + first) * 8)
            self._file.write(row.data)

    def pieces(self, piece_rows: int = PIECE_ROWS) -> Iterator[Binary]:
        """labels rows by as_of then customer_id, in payloads of whole days (or of part of one day)."""
        n, days = self.customers, self.tl.days
        day0 = self.tl.epoch_day0 - PG_EPOCH_DAYS
        per_piece = max(1, piece_rows // n)
        step = min(n, piece_rows)
        for d0 in range(0, days, per_piece):
            d1 = min(d0 + per_piece, days)
            for c0 in range(0, n, step):
                c1 = min(c0 + step, n)
                block = np.empty((d1 - d0, c1 - c0))
                for k in range(d1 - d0):
                    self._file.seek(((d0 + k) * n + c0) * 8)
                    self._file.readinto(block[k].data)
                yield encode("labels", [
                    ("customer_id", INT8, np.tile(np.arange(c0 + 1, c1 + 1, dtype=np.int64), d1 - d0)),
                    ("as_of", DATE, np.repeat(np.arange(d0, d1) + day0, c1 - c0)),
                    ("true_pd", FLOAT8, block.ravel())], block.size)

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> LabelSpill:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def chunk_pieces(ch: Chunk, tl: Timeline, ids: Ids, piece_rows: int = PIECE_ROWS) -> Iterator[Piece]:
    """The chunk's rows for every table but labels, in load order (parents before children); advances the
    ids. Labels go to a LabelSpill and load after the last chunk."""
    yield Frame("customers", customers_frame(ch, tl))
    yield Frame("accounts", accounts_frame(ch, tl))
    payments = payments_frame(ch, tl, ids.next_payment)
    ids.next_payment += payments.height
    yield Frame("payments", payments)
    first, m = ids.next_txn, len(ch.events)
    ids.next_txn += m
    for lo in range(0, m, piece_rows):
        yield transactions_payload(ch.customers.customer_id, ch.events, tl.epoch_day0, first, lo,
                                   min(lo + piece_rows, m))
    step = max(1, piece_rows // tl.days)
    n = ch.customers.n
    for c0 in range(0, n, step):
        yield _daily(ch, tl, c0, min(c0 + step, n))
