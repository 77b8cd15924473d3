"""What `pde db status` reports: which server, its version, TimescaleDB (or why not) and its hypertables' chunks and
compression, the role it connects as, row counts."""

from __future__ import annotations

from sqlalchemy import Connection, text

TABLES = (
    "customers", "accounts", "transactions", "payments", "labels", "daily_balances", "risk_scores",
    "interventions", "customer_assignments", "customer_snoozes", "intervention_outcomes", "contact_plan",
    "simulated_outcomes",
    "action_audit_log", "users", "api_keys", "model_versions", "batch_runs",
)


def time_table_kind(conn: Connection, table: str) -> str:
    """'hypertable', 'partitioned' or 'plain' for a time-series table."""
    if conn.execute(text("SELECT pde_timescale_active()")).scalar():
        is_hyper = conn.execute(
            text("SELECT count(*) FROM timescaledb_information.hypertables WHERE hypertable_name = :t"),
            {"t": table},
        ).scalar()
        if is_hyper:
            return "hypertable"
    partitioned = conn.execute(
        text("SELECT count(*) FROM pg_partitioned_table WHERE partrelid = to_regclass(:t)"), {"t": table}
    ).scalar()
    return "partitioned" if partitioned else "plain"


def timescale_state(conn: Connection) -> str:
    """Why the time tables are or are not hypertables, in words an operator can act on."""
    if conn.execute(text("SELECT count(*) FROM pg_extension WHERE extname = 'timescaledb'")).scalar():
        return "active"
    if not conn.execute(text(
            "SELECT count(*) FROM pg_available_extensions WHERE name = 'timescaledb'")).scalar():
        return "not installed on the server (native partitioning)"
    preload = conn.execute(text("SELECT current_setting('shared_preload_libraries')")).scalar() or ""
    if "timescaledb" not in preload:
        return ("installed but not in shared_preload_libraries (native partitioning): add it, restart the server; "
                "databases migrated before keep their partitions")
    return "installed and preloaded, but this database was migrated without it (native partitioning)"


def hypertables(conn: Connection) -> list[dict]:
    """Each hypertable's chunks, compressed chunks, and bytes before and after compression (TimescaleDB only)."""
    if not conn.execute(text("SELECT pde_timescale_active()")).scalar():
        return []
    rows = conn.execute(text(
        "SELECT h.hypertable_name AS name, count(c.chunk_name) AS chunks,"
        "       count(c.chunk_name) FILTER (WHERE c.is_compressed) AS compressed_chunks,"
        "       (SELECT total_bytes FROM hypertable_detailed_size(format('%I', h.hypertable_name)::regclass))"
        "           AS total_bytes,"
        "       (SELECT s.before_compression_total_bytes FROM hypertable_compression_stats("
        "           format('%I', h.hypertable_name)::regclass) s) AS before_compression_bytes,"
        "       (SELECT s.after_compression_total_bytes FROM hypertable_compression_stats("
        "           format('%I', h.hypertable_name)::regclass) s) AS after_compression_bytes "
        "FROM timescaledb_information.hypertables h "
        "LEFT JOIN timescaledb_information.chunks c USING (hypertable_schema, hypertable_name) "
        "WHERE h.hypertable_schema = current_schema() GROUP BY h.hypertable_name ORDER BY h.hypertable_name"))
    return [dict(r) for r in rows.mappings()]


def storage_job(conn: Connection) -> dict | None:
    """The storage job (sql/016): its ages, when it last ran and how, when it runs next (TimescaleDB only)."""
    if not conn.execute(text("SELECT pde_timescale_active()")).scalar():
        return None
    row = conn.execute(text(
        # TimescaleDB says -infinity for "never" / "not scheduled", which Python's datetime cannot hold
        "SELECT j.job_id, j.config, j.scheduled, s.last_run_status, "
        "       CASE WHEN isfinite(s.last_successful_finish) THEN s.last_successful_finish END "
        "           AS last_successful_finish, "
        "       CASE WHEN isfinite(s.next_start) THEN s.next_start END AS next_start, s.total_failures "
        "FROM timescaledb_information.jobs j LEFT JOIN timescaledb_information.job_stats s USING (job_id) "
        "WHERE j.proc_name = 'pde_storage_job'")).mappings().first()
    if row is None:
        return None
    when = ("last_successful_finish", "next_start")
    return {k: (v.isoformat() if k in when and v is not None else v) for k, v in row.items()}


def database_status(conn: Connection) -> dict:
    """Server version, TimescaleDB state, migrations applied, and exact row counts per table."""
    version = conn.execute(text("SHOW server_version")).scalar()
    timescale = bool(conn.execute(text(
        "SELECT count(*) FROM pg_extension WHERE extname = 'timescaledb'")).scalar())
    migrations = conn.execute(text(
        "SELECT version FROM schema_migrations ORDER BY version")).scalars().all() if conn.execute(
        text("SELECT to_regclass('schema_migrations') IS NOT NULL")).scalar() else []
    counts: dict[str, int | None] = {}
    for table in TABLES:
        exists = conn.execute(text("SELECT to_regclass(:t) IS NOT NULL"), {"t": table}).scalar()
        # table names come from the constant above, never from input
        counts[table] = conn.execute(text(f"SELECT count(*) FROM {table}")).scalar() if exists else None
    role, superuser = conn.execute(text(
        "SELECT current_user, rolsuper FROM pg_roles WHERE rolname = current_user")).one()
    kinds = {}
    if migrations:
        kinds = {t: time_table_kind(conn, t) for t in ("transactions", "daily_balances", "risk_scores")}
    business = None
    if conn.execute(text("SELECT to_regprocedure('pde_business_date()') IS NOT NULL")).scalar():
        business = conn.execute(text("SELECT pde_business_date()")).scalar()
    return {
        "server_version": version,
        "timescaledb": timescale,
        "timescaledb_state": timescale_state(conn),
        "business_date": business.isoformat() if business else None,
        # least privilege: the application should not connect as a superuser (which can bypass the audit log's
        # triggers); reported so an operator sees it
        "role": {"name": role, "superuser": bool(superuser)},
        "migrations": list(migrations),
        "time_tables": kinds,
        "hypertables": hypertables(conn) if migrations else [],
        "storage_job": storage_job(conn) if migrations else None,
        "row_counts": counts,
    }
