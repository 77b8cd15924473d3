"""Bank files uploaded by a user: permission, the all-or-nothing load and its audit row in one savepoint."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Connection

from predelinquency.db.audit import write_audit
from predelinquency.ingest.load import load, parse_all
from predelinquency.ingest.validate import Parsed
from predelinquency.operations.permissions import actor_name, authorise
from predelinquency.settings import Ingest, get_settings

if TYPE_CHECKING:
    from predelinquency.operations.accounts import User

log = logging.getLogger(__name__)


def upload(conn: Connection, actor: User | str, parsed: dict[str, Parsed],
           source_names: dict[str, str] | None = None, settings: Ingest | None = None) -> dict[str, int]:
    """Rows loaded per table; raises UploadRejected (nothing loaded) when any row of any file is bad.

    `settings` (default: the process's) bound the dates a file may hold."""
    authorise(conn, actor, "upload_data")
    with conn.begin_nested():
        loaded = load(conn, parsed, settings or get_settings().ingest)
        write_audit(conn, actor_name(actor), "upload_data", "upload", None, None, {"rows": loaded.rows},
                    details={"files": source_names or {},
                             "daily_balances_recomputed": loaded.daily_balances_recomputed})
    log.info("upload by %s loaded %s and recomputed %d daily rows", actor_name(actor), loaded.rows,
             loaded.daily_balances_recomputed)
    return loaded.rows


def validate_and_upload(conn: Connection, actor: User | str, sources: dict[str, bytes | str | Path],
                        source_names: dict[str, str] | None = None, settings: Ingest | None = None) -> dict[str, int]:
    """Parses each file (kind -> CSV bytes or path), then uploads them all or raises UploadRejected."""
    return upload(conn, actor, parse_all(sources), source_names, settings)
