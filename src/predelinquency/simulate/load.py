"""Database side of `pde generate`: refusing to duplicate, resetting, partitions, dropping and rebuilding
the big tables' indexes around the load, and COPYing each chunk. Runs inside the caller's transaction."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import Connection, text

from predelinquency.db.bulk import copy_in
from predelinquency.errors import Conflict, PdeError
from predelinquency.simulate.binary_copy import copy_binary
from predelinquency.simulate.pieces import Frame, Piece

log = logging.getLogger(__name__)

LOAD_ORDER = ("customers", "accounts", "payments", "transactions", "daily_balances", "labels")
TIME_TABLES = ("transactions", "daily_balances")
# read right after generation (features, nightly); transactions and labels are left to autovacuum
ANALYZE_TABLES = ("customers", "accounts", "payments", "daily_balances")
# per-row index and foreign-key maintenance costs more than building them once after the load;
# payments before accounts: payments' foreign key must go before accounts' primary key can
BULK_TABLES = ("payments", "accounts", "transactions", "daily_balances", "labels")
RESET_TABLES = (
    "customers", "accounts", "transactions", "payments", "labels", "daily_balances", "risk_scores",
    "interventions", "customer_assignments", "customer_snoozes", "intervention_outcomes",
    "simulation_state", "simulation_bank", "simulated_outcomes", "contact_plan", "business_calendar",
    "operations_overrides", "run_performance", "rollup_watermark",
)
# never emptied by a reset: the audit trail (append-only), people, keys, models and job history
KEPT_TABLES = ("action_audit_log", "users", "api_keys", "model_versions", "model_promotions", "batch_runs",
               "schema_migrations")


def require_schema(conn: Connection) -> None:
    """Raises PdeError when the migrations have not been applied to this database yet."""
    if conn.execute(text("SELECT to_regclass('customers') IS NULL OR to_regclass('daily_balances') IS NULL")).scalar():
        raise PdeError("the database has no tables yet: run `pde db init` first")


def customer_count(conn: Connection) -> int:
    """Customers already in the database."""
    return int(conn.execute(text("SELECT count(*) FROM customers")).scalar_one())


def refuse_if_populated(conn: Connection) -> None:
    """Raises Conflict when the database already holds customers (generate would duplicate them)."""
    n = customer_count(conn)
    if n:
        raise Conflict(f"the database already holds {n:,} customers; run `pde generate --reset` to replace "
                       "them (interventions, scores and assignments are deleted too; the audit log is kept)")


def _reset_targets(conn: Connection) -> list[str]:
    """RESET_TABLES plus any table that references them through foreign keys (added by later migrations)."""
    rows = conn.execute(text(
        "WITH RECURSIVE dep(rel) AS ("
        "  SELECT to_regclass(t) FROM unnest(CAST(:tables AS text[])) AS t WHERE to_regclass(t) IS NOT NULL"
        "  UNION"
        "  SELECT c.conrelid::regclass FROM pg_constraint c JOIN dep ON c.confrelid = dep.rel"
        "  WHERE c.contype = 'f' AND c.conparentid = 0"
        ") SELECT rel::text FROM dep"), {"tables": list(RESET_TABLES)}).scalars().all()
    kept = sorted(set(rows) & set(KEPT_TABLES))
    if kept:
        raise PdeError(f"--reset would empty {', '.join(kept)} through foreign keys; these tables are never reset")
    return list(rows)


def reset(conn: Connection) -> list[str]:
    """Empties the customer data tables (never the audit log, users, keys, models or batch runs)."""
    tables = _reset_targets(conn)
    # names come from the catalog query above and are quoted by PostgreSQL's format()
    # the names come from the catalog (regclass text is already quoted where needed), not from input
    conn.execute(text("TRUNCATE " + ", ".join(tables)))
    log.info("reset: truncated %s", ", ".join(tables))
    return tables


def ensure_partitions(conn: Connection, lo: date, hi: date) -> None:
    """Monthly partitions of the time tables cover [lo, hi] (no-op with TimescaleDB)."""
    for table in TIME_TABLES:
        conn.execute(text("SELECT pde_ensure_partitions(:t, :lo, :hi)"), {"t": table, "lo": lo, "hi": hi})


@dataclass
class Suspended:
    """DDL recreating what suspend_indexes dropped: keys and indexes first, then foreign keys."""

    keys: list[str] = field(default_factory=list)
    foreign_keys: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.keys) + len(self.foreign_keys)


def suspend_indexes(conn: Connection, tables: tuple[str, ...]) -> Suspended:
    """Drops the tables' keys and indexes, in order; returns the DDL that recreates them exactly.

    The DDL comes from the catalog, so later migrations' indexes are kept too. A table still referenced
    by a foreign key of a table not suspended before it is left alone (its key cannot be dropped).
    """
    out = Suspended()
    for table in tables:
        referenced = conn.execute(text(
            "SELECT count(*) FROM pg_constraint WHERE confrelid = to_regclass(:t) AND contype = 'f'"),
            {"t": table}).scalar_one()
        if referenced:
            continue
        constraints = conn.execute(text(
            "SELECT format('ALTER TABLE %I DROP CONSTRAINT %I', CAST(:t AS text), conname),"
            "       format('ALTER TABLE %I ADD CONSTRAINT %I %s', CAST(:t AS text), conname,"
            "              pg_get_constraintdef(oid)),"
            "       contype = 'f' "
            "FROM pg_constraint WHERE conrelid = to_regclass(:t) AND contype IN ('p', 'u', 'f') AND conparentid = 0 "
            "ORDER BY contype = 'f' DESC, conname"), {"t": table}).all()
        indexes = conn.execute(text(
            "SELECT format('DROP INDEX %s', i.indexrelid::regclass),"
            "       replace(pg_get_indexdef(i.indexrelid), ' ON ONLY ', ' ON ') "
            "FROM pg_index i WHERE i.indrelid = to_regclass(:t) AND NOT EXISTS ("
            "  SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid AND c.conrelid = i.indrelid)"),
            {"t": table}).all()
        # foreign keys go first: they may depend on this table's own unique keys
        for drop, create, is_fk in constraints:
            conn.execute(text(drop))
            (out.foreign_keys if is_fk else out.keys).append(create)
        for drop, create in indexes:
            conn.execute(text(drop))
            out.keys.append(create)
    return out


def restore_indexes(conn: Connection, suspended: Suspended) -> list[dict[str, float | str]]:
    """Recreates what suspend_indexes dropped (keys, then foreign keys); returns each statement's seconds."""
    conn.execute(text("SET LOCAL maintenance_work_mem = '512MB'"))
    timings = []
    for stmt in (*suspended.keys, *suspended.foreign_keys):
        started = time.perf_counter()
        conn.execute(text(stmt))
        timings.append({"ddl": stmt[:90], "seconds": round(time.perf_counter() - started, 2)})
    return timings


def copy_piece(conn: Connection, piece: Piece) -> int:
    """Rows of one piece COPYed into its table: CSV for frames, binary for encoded payloads."""
    if isinstance(piece, Frame):
        return copy_in(conn, piece.table, piece.df)
    return copy_binary(conn, piece)
