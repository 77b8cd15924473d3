"""Uplift model versions: artifacts under settings.models_dir/<version>/, rows in uplift_versions, the champion.

As the PD model's registry (model/registry.py, whose artifact helpers this reuses): the first version becomes
champion, later ones challengers; promotion is audited and undone by promoting the old champion back. The
nightly reads the uplift champion beside the PD champion; with none, the configured prior.
"""

from __future__ import annotations

import json
import logging
import shutil
import threading
from datetime import date
from typing import Any

from sqlalchemy import Connection, text

from predelinquency.db.audit import write_audit
from predelinquency.errors import NotFound, PdeError
from predelinquency.model.registry import jsonable, new_version, read_artifact, write_artifact
from predelinquency.model.uplift.model import UpliftModel, prior_model
from predelinquency.settings import Settings

log = logging.getLogger(__name__)
# serialises uplift registrations and promotions across processes (any constant, the same everywhere)
_UPLIFT_LOCK = 728_311_102
_cache: dict[tuple[str, str], UpliftModel] = {}
_cache_lock = threading.Lock()
_COLUMNS = ("version, created_at, status, trained_by, pd_model_version, trained_from, trained_until, outcomes, "
            "params, metrics")


def register_uplift(conn: Connection, settings: Settings, model: UpliftModel, *, trained_by: str,
                    pd_model_version: str | None, trained_from: date | None, trained_until: date | None,
                    outcomes: int, params: dict[str, Any], metrics: dict[str, Any]) -> dict[str, Any]:
    """Saves the artifact and inserts the uplift_versions row (champion if none, else challenger), in the caller's
    transaction; {version, status, artifact_path}."""
    conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _UPLIFT_LOCK})
    version = new_version(prefix="u")
    model.version = version
    directory = settings.models_dir / version
    if directory.exists():
        raise PdeError(f"{directory} already exists: refusing to overwrite another model's files")
    sha = write_artifact(model, directory, {"version": version, "kind": model.kind,
                                            "feature_names": model.feature_names, "actions": model.actions})
    has_champion = conn.execute(text("SELECT 1 FROM uplift_versions WHERE status = 'champion'")).first()
    status = "challenger" if has_champion else "champion"
    try:
        conn.execute(text(
            "INSERT INTO uplift_versions (version, status, artifact_path, trained_by, pd_model_version, trained_from, "
            "trained_until, outcomes, params, metrics) VALUES (:v, :s, :p, :by, :pd, :f, :u, :n, "
            "CAST(:params AS jsonb), CAST(:metrics AS jsonb))"),
            {"v": version, "s": status, "p": str(directory), "by": trained_by, "pd": pd_model_version,
             "f": trained_from, "u": trained_until, "n": outcomes,
             "params": json.dumps(jsonable({**params, "artifact_sha256": sha}), default=str),
             "metrics": json.dumps(jsonable(metrics), default=str)})
    except Exception:
        shutil.rmtree(directory, ignore_errors=True)  # no files without a row
        raise
    log.info("registered uplift model %s as %s", version, status)
    return {"version": version, "status": status, "artifact_path": str(directory)}


def list_uplift(conn: Connection) -> list[dict[str, Any]]:
    """Every uplift version, newest first, with its params and metrics."""
    rows = conn.execute(text(f"SELECT {_COLUMNS} FROM uplift_versions ORDER BY created_at DESC, version DESC"))
    return [dict(r) for r in rows.mappings()]


def get_uplift(conn: Connection, version: str | None = None) -> dict[str, Any]:
    """The uplift_versions row of the version (the champion when None); NotFound when there is none."""
    if version is None:
        row = conn.execute(text("SELECT * FROM uplift_versions WHERE status = 'champion'")).mappings().first()
        if row is None:
            raise NotFound("no champion uplift model: run pde train --effects first")
    else:
        row = conn.execute(text("SELECT * FROM uplift_versions WHERE version = :v"), {"v": version}).mappings().first()
        if row is None:
            raise NotFound(f"uplift model version {version} does not exist")
    return dict(row)


def is_uplift_version(conn: Connection, version: str) -> bool:
    """Whether the version names an uplift model (else it may be a PD model's)."""
    return conn.execute(text("SELECT 1 FROM uplift_versions WHERE version = :v"), {"v": version}).first() is not None


def promote_uplift(conn: Connection, version: str, actor: str) -> dict[str, Any]:
    """Makes the uplift version champion (the previous one a challenger), in uplift_promotions and the audit log;
    {version, previous_champion, changed} (promoting the champion changes nothing)."""
    conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _UPLIFT_LOCK})
    target = get_uplift(conn, version)
    previous = conn.execute(text("SELECT version FROM uplift_versions WHERE status = 'champion'")).scalar_one_or_none()
    if previous == version:
        return {"version": version, "previous_champion": previous, "changed": False}
    # demote first: the partial unique index allows one champion at a time
    conn.execute(text("UPDATE uplift_versions SET status = 'challenger' WHERE status = 'champion'"))
    conn.execute(text("UPDATE uplift_versions SET status = 'champion' WHERE version = :v"), {"v": version})
    conn.execute(text("INSERT INTO uplift_promotions (version, previous_champion, promoted_by) VALUES (:v, :p, :a)"),
                 {"v": version, "p": previous, "a": actor})
    write_audit(conn, actor, "promote_model", "uplift_version", version,
                {"champion": previous, "status": target["status"]}, {"champion": version, "status": "champion"},
                {"previous_champion_status": "challenger" if previous else None})
    log.info("%s promoted uplift model %s (previous champion %s)", actor, version, previous)
    return {"version": version, "previous_champion": previous, "changed": True}


def load_uplift(settings: Settings, conn: Connection, version: str | None = None) -> UpliftModel:
    """The champion uplift model (or the given version), or the configured prior when no uplift model has been
    promoted; loaded from disk once per process, then cached."""
    if version is None:
        row = conn.execute(text("SELECT version, artifact_path, params FROM uplift_versions "
                                "WHERE status = 'champion'")).mappings().first()
        if row is None:
            return prior_model(settings)
    else:
        row = get_uplift(conn, version)
    key = (row["version"], str((row["params"] or {}).get("artifact_sha256")))
    with _cache_lock:
        cached = _cache.get(key)
    if cached is not None:
        return cached
    model = read_artifact(dict(row), settings, UpliftModel, what="uplift model")
    with _cache_lock:
        _cache[key] = model
    return model
