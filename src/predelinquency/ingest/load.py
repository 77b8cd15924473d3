"""Loading validated bank files: checks against the database, then COPY of every file in one transaction.

All or nothing: if any row of any file is bad, nothing is loaded and every problem is reported. Who may
upload, and the audit row, are the write side's (operations/uploads.py).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import polars as pl
import psycopg
from sqlalchemy import Connection, text

from predelinquency.db.bulk import copy_in
from predelinquency.db.rollup import refresh_daily_balances
from predelinquency.errors import Conflict, PdeError
from predelinquency.ingest.dates import date_limits
from predelinquency.ingest.schemas import SPECS
from predelinquency.ingest.validate import (
    DEFAULT_MAX_ERRORS,
    LINE_COLUMN,
    Parsed,
    RowError,
    parse,
    printable,
    summarise,
)
from predelinquency.settings import Ingest

log = logging.getLogger(__name__)
# the start of a problem the database found in a row the validator accepted (a gap in the validator)
REFUSED = "refused by the database"


class UploadRejected(PdeError):
    """Some rows are bad; `errors` maps each file kind to its RowErrors and nothing was loaded."""

    def __init__(self, errors: dict[str, list[RowError]]):
        self.errors = errors
        n = sum(len(e) for e in errors.values())
        first = next(f"{k}: {s}" for k, errs in errors.items() if errs for s in summarise(errs, 1))
        super().__init__(f"{n} problem(s) found, nothing was loaded; {first}")


def _existing(conn: Connection, table: str, key: str, ids: list[int]) -> set[int]:
    """Which of ids are already keys of table (names come from SPECS, never from input)."""
    if not ids:
        return set()
    rows = conn.execute(text(f"SELECT DISTINCT {key} FROM {table} WHERE {key} = ANY(:ids)"), {"ids": ids})
    return {r[0] for r in rows}


def _ids(frame: pl.DataFrame, column: str) -> list[int]:
    return frame.get_column(column).drop_nulls().unique().to_list() if column in frame.columns else []


def _flag(frame: pl.DataFrame, column: str, bad: set[int], problem: str) -> list[RowError]:
    """A RowError per row whose column holds one of the bad ids; problem gets the id via {id}."""
    if not bad:
        return []
    hits = frame.filter(pl.col(column).is_in(list(bad))).select(LINE_COLUMN, column)
    return [RowError(line, column, problem.format(id=v)) for line, v in hits.iter_rows()]


def check_against_database(conn: Connection, parsed: dict[str, Parsed]) -> dict[str, list[RowError]]:
    """Problems only the database can reveal: ids that already exist, references to unknown ids,
    and accounts that belong to another customer."""
    frames = {k: p.frame for k, p in parsed.items() if p.ok and p.frame.height}
    errors: dict[str, list[RowError]] = {k: [] for k in parsed}
    for kind, frame in frames.items():
        spec = SPECS[kind]
        taken = _existing(conn, kind, spec.key, _ids(frame, spec.key))
        errors[kind] += _flag(frame, spec.key, taken, f"{spec.key} {{id}} already exists in the database")
        for column, target in spec.references.items():
            wanted = set(_ids(frame, column))
            in_file = set(_ids(frames[target], SPECS[target].key)) if target in frames else set()
            in_db = _existing(conn, target, SPECS[target].key, sorted(wanted - in_file))
            errors[kind] += _flag(frame, column, wanted - in_file - in_db,
                                  f"{target[:-1]} {{id}} does not exist (not in the database nor in this upload)")
    for kind, owner_errors in _account_owner_errors(conn, frames).items():
        errors[kind] += owner_errors
    return {k: sorted(v) for k, v in errors.items()}


def _account_owner_errors(conn: Connection, frames: dict[str, pl.DataFrame]) -> dict[str, list[RowError]]:
    """Transactions and payments whose account belongs to a different customer."""
    out: dict[str, list[RowError]] = {}
    owners = frames["accounts"].select("account_id", "customer_id") if "accounts" in frames else None
    for kind in ("transactions", "payments"):
        if kind not in frames:
            continue
        frame = frames[kind]
        ids = _ids(frame, "account_id")
        db_rows = conn.execute(text("SELECT account_id, customer_id FROM accounts WHERE account_id = ANY(:ids)"),
                               {"ids": ids}).all() if ids else []
        known = pl.DataFrame(db_rows, schema={"account_id": pl.Int64, "customer_id": pl.Int64}, orient="row")
        if owners is not None:
            known = pl.concat([known, owners])
        mism = frame.join(known.rename({"customer_id": "__owner"}), on="account_id", how="inner").filter(
            pl.col("__owner") != pl.col("customer_id"))
        out[kind] = [RowError(line, "account_id", f"account {a} belongs to customer {o}, not {c}")
                     for line, a, c, o in mism.select(LINE_COLUMN, "account_id", "customer_id", "__owner").iter_rows()]
    return out


def roll_up_back_dated(conn: Connection, transactions: pl.DataFrame, last: date | None) -> int:
    """daily_balances rows recomputed for uploaded transactions dated on or before the rollup's latest day.

    The nightly job only rolls up days after its latest one, so such transactions (late postings, a
    backfill) would never reach the features. Their customers' days from the earliest such transaction to
    the latest rolled-up day (`last`) are recomputed: balances carry forward, so every later day changes too.
    """
    if transactions.height == 0 or last is None:
        return 0
    late = transactions.filter(pl.col("ts").dt.date() <= last)
    if late.height == 0:
        return 0
    lo = late["ts"].min().date()
    return refresh_daily_balances(conn, lo, last, late["customer_id"].unique().sort().to_list())


@dataclass(frozen=True)
class Loaded:
    """What a load wrote: rows per table, and the daily rows its back-dated transactions recomputed."""

    rows: dict[str, int]
    daily_balances_recomputed: int


def load(conn: Connection, parsed: dict[str, Parsed], settings: Ingest) -> Loaded:
    """Loads parsed files; raises UploadRejected (nothing loaded) when any row of any file is bad.

    Runs in a savepoint on the caller's transaction: the rows and the daily rows their back-dated
    transactions change (see roll_up_back_dated) commit together with whatever the caller adds.
    """
    unknown = set(parsed) - set(SPECS)
    if unknown:
        raise PdeError(f"unknown file kind(s): {', '.join(sorted(unknown))}; expected {', '.join(SPECS)}")
    limits = date_limits(conn, settings)
    errors = {k: sorted([*p.errors, *(limits.errors(k, p.frame) if p.frame.width else [])])
              for k, p in parsed.items()}
    if not any(errors.values()):
        errors = check_against_database(conn, parsed)
    if any(errors.values()):
        raise UploadRejected({k: v[:DEFAULT_MAX_ERRORS] for k, v in errors.items() if v})
    counts: dict[str, int] = {}
    recomputed = 0
    kind = ""
    try:
        with conn.begin_nested():
            for kind in SPECS:  # referenced tables first
                if kind not in parsed:
                    continue
                frame = parsed[kind].frame
                if kind == "transactions" and frame.height:
                    lo, hi = frame.select(pl.col("ts").min().dt.date().alias("lo"),
                                          pl.col("ts").max().dt.date().alias("hi")).row(0)
                    conn.execute(text("SELECT pde_ensure_partitions('transactions', :lo, :hi)"),
                                 {"lo": lo, "hi": hi})
                counts[kind] = copy_in(conn, kind, frame.drop(LINE_COLUMN))
                if kind == "transactions":
                    recomputed = roll_up_back_dated(conn, frame, limits.last_data_day)
    except psycopg.errors.UniqueViolation:
        raise Conflict("another upload loaded some of these ids meanwhile; nothing was loaded: "
                       "check the files again") from None
    except psycopg.Error as exc:  # the validator let through a value the database refuses: name its row
        refused = _refused_row(exc, kind, parsed)
        if refused is None:
            raise
        log.error("the database refused a row the validator accepted: %s", exc)
        raise UploadRejected({kind: [refused]}) from None
    return Loaded(counts, recomputed)


def _refused_row(exc: psycopg.Error, kind: str, parsed: dict[str, Parsed]) -> RowError | None:
    """The row (source line, column) a COPY error names, from the error's context ("COPY t, line 5, column c")."""
    found = re.search(r"COPY \w+, line (\d+)(?:, column (\w+))?", exc.diag.context or "")
    if not found or kind not in parsed:
        return None
    row = int(found.group(1)) - 1
    lines = parsed[kind].frame.get_column(LINE_COLUMN)
    line = int(lines[row]) if 0 <= row < len(lines) else 0
    reason = printable(exc.diag.message_primary or type(exc).__name__, 200)
    return RowError(line, found.group(2) or "", f"{REFUSED}: {reason}")


def parse_all(sources: dict[str, bytes | str | Path]) -> dict[str, Parsed]:
    """Each file parsed (kind -> CSV bytes or path); PdeError names kinds that are not ours."""
    unknown = set(sources) - set(SPECS)
    if unknown:
        raise PdeError(f"unknown file kind(s): {', '.join(sorted(unknown))}; expected {', '.join(SPECS)}")
    return {kind: parse(kind, src) for kind, src in sources.items()}
