"""A simulated chunk cut into COPY pieces, in load order: CSV frames for the small tables, binary payloads
of at most `piece_rows` rows for transactions, daily_balances and labels (bounded memory per piece)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import polars as pl

from predelinquency.simulate.binary_copy import (
    DATE,
    FLOAT8,
    INT2,
    INT8,
    NUMERIC2,
    PG_EPOCH_DAYS,
    TIMESTAMPTZ,
    Binary,
    encode,
    numeric2,
    text_type,
)
from predelinquency.simulate.chunk import Chunk
from predelinquency.simulate.customers import CURRENT
from predelinquency.simulate.daily import DAILY_COLUMNS
from predelinquency.simulate.events import CATEGORIES, CHANNELS
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


def _transactions(ch: Chunk, tl: Timeline, first_id: int, lo: int, hi: int) -> Iterator[Binary]:
    """Events lo..hi-1 as transactions rows, one payload per (category, channel, status): text stays fixed-width."""
    ev = ch.events
    sl = slice(lo, hi)
    cat, chan, failed = ev.cat[sl], ev.chan[sl], ev.failed[sl]
    cid = ch.customers.customer_id[ev.cust[sl]]
    # microseconds since 2000-01-01 UTC
    ts = ((tl.epoch_day0 - PG_EPOCH_DAYS + ev.day[sl].astype(np.int64)) * 86400 + ev.sec[sl]) * 1_000_000
    txn_id = first_id + np.arange(lo, hi, dtype=np.int64)
    amount = numeric2(ev.cents[sl])
    group = cat.astype(np.int32) * 16 + chan.astype(np.int32) * 2 + failed
    for g in np.unique(group):
        rows = np.flatnonzero(group == g)
        c, h, st = CATEGORIES[g // 16], CHANNELS[(g // 2) % 8], ("failed" if g % 2 else "posted")
        yield encode("transactions", [
            ("txn_id", INT8, txn_id[rows]), ("customer_id", INT8, cid[rows]),
            ("account_id", INT8, cid[rows] * 10 + CURRENT), ("ts", TIMESTAMPTZ, ts[rows]),
            ("amount", NUMERIC2, amount[rows]), ("category", text_type(c), c), ("channel", text_type(h), h),
            ("status", text_type(st), st)], len(rows))


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


def _labels(ch: Chunk, tl: Timeline, c0: int, c1: int) -> Binary:
    """labels rows of customers c0..c1-1: true_pd per simulated day."""
    days = tl.days
    n = c1 - c0
    pd_ = np.clip(ch.true_pd[c0:c1].ravel(), 0.0, 1.0) + 0.0  # + 0.0 turns -0.0 into 0.0
    return encode("labels", [
        ("customer_id", INT8, np.repeat(ch.customers.customer_id[c0:c1], days)),
        ("as_of", DATE, np.tile(np.arange(days) + tl.epoch_day0 - PG_EPOCH_DAYS, n)),
        ("true_pd", FLOAT8, pd_)], n * days)


def chunk_pieces(ch: Chunk, tl: Timeline, ids: Ids, piece_rows: int = PIECE_ROWS) -> Iterator[Piece]:
    """The chunk's rows for every table, in load order (parents before children); advances the ids."""
    yield Frame("customers", customers_frame(ch, tl))
    yield Frame("accounts", accounts_frame(ch, tl))
    payments = payments_frame(ch, tl, ids.next_payment)
    ids.next_payment += payments.height
    yield Frame("payments", payments)
    first, m = ids.next_txn, len(ch.events)
    ids.next_txn += m
    for lo in range(0, m, piece_rows):
        yield from _transactions(ch, tl, first, lo, min(lo + piece_rows, m))
    step = max(1, piece_rows // tl.days)
    n = ch.customers.n
    for part in (_daily, _labels):
        for c0 in range(0, n, step):
            yield part(ch, tl, c0, min(c0 + step, n))
