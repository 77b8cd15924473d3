"""Bulk movement between Polars frames and PostgreSQL through COPY (never row-by-row INSERTs)."""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

import polars as pl
import psycopg
from psycopg import sql
from sqlalchemy import Connection

from predelinquency.table import Columns, Schema, Table

_CHUNK_BYTES = 8 << 20


def raw_connection(conn: Connection):
    """The psycopg connection under a SQLAlchemy Connection, inside the same transaction."""
    return conn.connection.driver_connection


def copy_in(conn: Connection, table: str, df: pl.DataFrame, columns: Sequence[str] | None = None) -> int:
    """Rows loaded into `table` from df (CSV COPY, written in C by Polars, streamed in 8 MB pieces)."""
    cols = list(columns or df.columns)
    if df.height == 0:
        return 0
    buf = io.BytesIO()
    # date/datetime formats PostgreSQL parses directly; nulls are empty unquoted fields
    df.select(cols).write_csv(buf, include_header=False, datetime_format="%Y-%m-%dT%H:%M:%S%.f%z",
                              date_format="%Y-%m-%d", null_value="", quote_style="necessary")
    stmt = sql.SQL("COPY {} ({}) FROM STDIN (FORMAT csv)").format(
        sql.Identifier(table), sql.SQL(", ").join(map(sql.Identifier, cols)))
    data = buf.getbuffer()
    with raw_connection(conn).cursor() as cur, cur.copy(stmt) as copy:
        for start in range(0, len(data), _CHUNK_BYTES):
            copy.write(data[start:start + _CHUNK_BYTES])
    return df.height


def copy_out(conn: Connection, query: str, params: dict | None = None,
             schema: Schema | None = None) -> pl.DataFrame:
    """Result of a SELECT as a Polars frame, read through COPY TO (fast for millions of rows).

    `params` are bound client-side by psycopg (never string-formatted by us).
    """
    raw = raw_connection(conn)
    inner = sql.SQL(query)
    if params:
        # ClientCursor binds on the client side; plain psycopg 3 cursors have no mogrify
        inner = sql.SQL(psycopg.ClientCursor(raw).mogrify(query, params))
    stmt = sql.SQL("COPY ({}) TO STDOUT (FORMAT csv, HEADER true)").format(inner)
    buf = io.BytesIO()
    with raw.cursor() as cur, cur.copy(stmt) as copy:
        for block in copy:
            buf.write(block)
    if buf.tell() == 0:
        return pl.DataFrame(schema=schema or {})
    buf.seek(0)
    return pl.read_csv(buf, schema_overrides=schema, try_parse_dates=True)


# up to this many customers a plain fetch beats COPY (whose CSV round trip has a fixed cost per table, even for
# one row); beyond it, building Python tuples of ~90 daily rows per customer costs more than the COPY
FETCH_MAX_CUSTOMERS = 20


def customer_filter(ids: Sequence[int] | None, column: str = "customer_id") -> tuple[str, dict]:
    """(SQL condition, its params) selecting these customers (None: every customer), for psycopg's %(name)s style.

    One customer is "= id", not "= ANY(ids)": PostgreSQL runs a scalar condition faster than an array one for
    a lookup by one customer across the partitions. Several carry their bounds too: for a nightly shard (a
    range of ids) PostgreSQL then reads one index range per partition rather than every row of the window.
    """
    if ids is None:
        return "true", {"ids": None}
    ids = [int(i) for i in ids]
    if not ids:
        return f"{column} = ANY(%(ids)s::bigint[])", {"ids": ids}
    if len(ids) == 1:
        return f"{column} = %(id)s", {"ids": ids, "id": ids[0]}
    return (f"{column} BETWEEN %(id_lo)s AND %(id_hi)s AND {column} = ANY(%(ids)s::bigint[])",
            {"ids": ids, "id_lo": min(ids), "id_hi": max(ids)})


def fetch_all(conn: Connection, query: str, params: dict) -> list[tuple]:
    """The rows of a small query, straight through psycopg in binary (no SQLAlchemy layer in between)."""
    with raw_connection(conn).cursor(binary=True) as cur:
        cur.execute(query, params)
        return cur.fetchall()


def read_frame(conn: Connection, query: str, params: dict, schema: Schema) -> pl.DataFrame:
    """The query's rows as a frame: fetched for a few customers, through COPY for many.

    params["ids"] (a list of customer ids, or None for all) decides which; params are bound by psycopg.
    """
    return read_frames(conn, [(query, schema)], params)[0]


def read_frames(conn: Connection, queries: Sequence[tuple[str, Schema]],
                params: dict) -> list[pl.DataFrame]:
    """Each (query, schema)'s rows as a frame, all with the same params; see read_frame.

    For a few customers the queries go out together in one pipeline: the server runs each while the
    previous result travels back, instead of one round trip after another. Binary results: no float
    printing on the server nor parsing here.
    """
    if _is_few(params):
        return [pl.DataFrame(rows, schema=schema, orient="row")
                for rows, (_, schema) in zip(_pipelined(conn, queries, params), queries, strict=True)]
    return [copy_out(conn, query, params, schema) for query, schema in queries]


def read_columns(conn: Connection, queries: Sequence[tuple[str, Schema]], params: dict) -> list[Table]:
    """Like read_frames, but a few customers' rows come as Columns (numpy arrays), not polars frames.

    What scoring one customer on demand reads: as frames, its inputs' ~50 columns would cost more than its
    whole feature computation (see predelinquency.table).
    """
    if _is_few(params):
        return [Columns.from_rows(rows, schema)
                for rows, (_, schema) in zip(_pipelined(conn, queries, params), queries, strict=True)]
    return [copy_out(conn, query, params, schema) for query, schema in queries]


def read_one_statement(conn: Connection, with_clause: str, head: str, queries: Sequence[tuple[str, Schema]],
                       params: dict) -> tuple[Any, list[Columns]]:
    """(head's value, each query's rows as Columns) from one statement: `with_clause SELECT head, <arrays>`.

    Each query becomes one row of arrays, one per column (array_agg over its rows, so all columns of a query
    keep the same row order), and the rows are joined into one: one execute and one round trip for all.
    """
    parts = []
    for k, (query, schema) in enumerate(queries):
        arrays = ", ".join(f"array_agg(q{k}.{name})" for name in schema)
        parts.append(f"(SELECT {arrays} FROM ({query}) q{k}) t{k}")
    with raw_connection(conn).cursor(binary=True) as cur:
        cur.execute(f"{with_clause} SELECT {head}, * FROM {', '.join(parts)}", params)
        row = cur.fetchone()
    tables, i = [], 1
    for _, schema in queries:
        tables.append(Columns.from_arrays(row[i:i + len(schema)], schema))
        i += len(schema)
    return row[0], tables


def _is_few(params: dict) -> bool:
    """True when params["ids"] names few enough customers that fetching beats COPY."""
    ids = params.get("ids")
    return ids is not None and len(ids) <= FETCH_MAX_CUSTOMERS


def _pipelined(conn: Connection, queries: Sequence[tuple[str, Schema]], params: dict) -> list[list[tuple]]:
    """Each query's rows, the queries sent together in one pipeline (one round trip) with binary results."""
    raw = raw_connection(conn)
    with raw.pipeline():
        cursors = []
        for query, _ in queries:
            cur = raw.cursor(binary=True)
            cur.execute(query, params)
            cursors.append(cur)
    rows = [cur.fetchall() for cur in cursors]
    for cur in cursors:
        cur.close()
    return rows
