"""Model versions: artifacts under settings.models_dir/<version>/, rows in model_versions, champion and promotions.

The first version registered becomes champion, later ones are challengers until promoted. Promotion swaps the
champion (the old one becomes a challenger), writes model_promotions and the audit log, and is undone by
promoting the old version again.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import secrets
import shutil
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import joblib
from sqlalchemy import Connection, text

from predelinquency.errors import NotFound, PdeError
from predelinquency.model.learners import LEARNERS
from predelinquency.model.pd_model import PDModel
from predelinquency.settings import Settings

log = logging.getLogger(__name__)
ARTIFACT = "model.joblib"
METADATA = "metadata.json"
# serialises registrations and promotions across processes (any constant, the same everywhere)
_REGISTRY_LOCK = 728_311_101
_cache: dict[tuple[str, str], PDModel] = {}
_cache_lock = threading.Lock()


def new_version(now: datetime | None = None, prefix: str = "v") -> str:
    """A unique version name that sorts by creation time, e.g. 'v20261123-142501-ab12' ('u…' for uplift models)."""
    now = now or datetime.now(UTC)
    return f"{prefix}{now:%Y%m%d-%H%M%S}-{secrets.token_hex(2)}"


def jsonable(obj: Any) -> Any:
    """The object with NaN/inf replaced by None and numpy scalars by Python ones (PostgreSQL's jsonb has no NaN)."""
    if isinstance(obj, dict):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [jsonable(v) for v in obj]
    if hasattr(obj, "item") and callable(obj.item):  # numpy scalar
        obj = obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _library_versions() -> dict[str, str]:
    """Versions of the libraries whose pickles are in the artifact: loading needs the same ones."""
    import sklearn

    return {**{name: learner.library_version() for name, learner in LEARNERS.items()},
            "scikit-learn": sklearn.__version__}


def write_artifact(obj: Any, directory: Path, meta: dict[str, Any]) -> str:
    """Writes obj as model.joblib and meta (with the sha256 and library versions) as metadata.json into directory,
    via a temporary sibling then renamed; the artifact's sha256. Any registry's versions (PD, uplift) use it."""
    directory.parent.mkdir(parents=True, exist_ok=True)
    tmp = directory.with_name(directory.name + ".partial")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    joblib.dump(obj, tmp / ARTIFACT, compress=3)
    sha = _sha256(tmp / ARTIFACT)
    meta = {**meta, "sha256": sha, "libraries": _library_versions()}
    (tmp / METADATA).write_text(json.dumps(jsonable(meta), indent=2, default=str))
    tmp.rename(directory)  # a reader never sees a half-written version directory
    return sha


def save_artifacts(model: PDModel, directory: Path) -> str:
    """Writes model.joblib and metadata.json into directory (via a temporary sibling, then renamed); their sha256."""
    return write_artifact(model, directory, {"version": model.version, "kind": model.kind,
                                             "feature_names": model.feature_names, "threshold": model.threshold,
                                             **model.meta})


def register(conn: Connection, settings: Settings, model: PDModel, *, trained_by: str, params: dict[str, Any],
             metrics: dict[str, Any], baseline: dict[str, Any], version: str | None = None) -> dict[str, Any]:
    """Saves the artifacts and inserts the model_versions row; {version, status, artifact_path}.

    Champion if there is none yet, else challenger. Runs in the caller's transaction.
    """
    conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _REGISTRY_LOCK})
    version = version or new_version()
    if conn.execute(text("SELECT 1 FROM model_versions WHERE version = :v"), {"v": version}).first():
        raise PdeError(f"model version {version} already exists")
    model.version = version
    directory = settings.models_dir / version
    if directory.exists():
        raise PdeError(f"{directory} already exists: refusing to overwrite another model's files")
    sha = save_artifacts(model, directory)
    has_champion = conn.execute(text("SELECT 1 FROM model_versions WHERE status = 'champion'")).first()
    status = "challenger" if has_champion else "champion"
    try:
        conn.execute(
            text("INSERT INTO model_versions (version, kind, status, artifact_path, trained_by, params, metrics, "
                 "feature_names, baseline) VALUES (:v, :k, :s, :p, :by, CAST(:params AS jsonb), "
                 "CAST(:metrics AS jsonb), CAST(:names AS jsonb), CAST(:baseline AS jsonb))"),
            {"v": version, "k": model.kind, "s": status, "p": str(directory), "by": trained_by,
             "params": json.dumps(jsonable({**params, "artifact_sha256": sha}), default=str),
             "metrics": json.dumps(jsonable(metrics), default=str),
             "names": json.dumps(model.feature_names), "baseline": json.dumps(jsonable(baseline), default=str)},
        )
    except Exception:
        shutil.rmtree(directory, ignore_errors=True)  # no files without a row
        raise
    log.info("registered model %s (%s) as %s", version, model.kind, status)
    return {"version": version, "status": status, "artifact_path": str(directory)}


def list_versions(conn: Connection) -> list[dict[str, Any]]:
    """Every version, newest first: version, created_at, kind, status, oot_auc, trained_by, and the fairness alerts
    of its out-of-time test ([] when none or not computed)."""
    rows = conn.execute(text(
        "SELECT version, created_at, kind, status, (metrics->>'oot_auc')::float AS oot_auc, trained_by, "
        "coalesce(metrics->'fairness'->'alerts', '[]'::jsonb) AS fairness_alerts "
        "FROM model_versions ORDER BY created_at DESC, version DESC")).mappings().all()
    return [dict(r) for r in rows]


def get_version(conn: Connection, version: str | None = None) -> dict[str, Any]:
    """The model_versions row of the version (the champion when None); NotFound when there is none."""
    if version is None:
        row = conn.execute(text("SELECT * FROM model_versions WHERE status = 'champion'")).mappings().first()
        if row is None:
            raise NotFound("no champion model: run pde train first")
    else:
        row = conn.execute(text("SELECT * FROM model_versions WHERE version = :v"), {"v": version}).mappings().first()
        if row is None:
            raise NotFound(f"model version {version} does not exist")
    return dict(row)


def promote(conn: Connection, version: str, actor: str) -> dict[str, Any]:
    """Makes the version champion (the previous one a challenger), recorded in model_promotions and the audit log.

    Returns {version, previous_champion, changed}; promoting the current champion changes nothing.
    """
    conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _REGISTRY_LOCK})
    target = get_version(conn, version)
    previous = conn.execute(text("SELECT version FROM model_versions WHERE status = 'champion'")).scalar_one_or_none()
    if previous == version:
        return {"version": version, "previous_champion": previous, "changed": False}
    # demote first: the partial unique index allows one champion at a time
    conn.execute(text("UPDATE model_versions SET status = 'challenger' WHERE status = 'champion'"))
    conn.execute(text("UPDATE model_versions SET status = 'champion' WHERE version = :v"), {"v": version})
    conn.execute(text("INSERT INTO model_promotions (version, previous_champion, promoted_by) VALUES (:v, :p, :a)"),
                 {"v": version, "p": previous, "a": actor})
    conn.execute(
        text("INSERT INTO action_audit_log (actor, action, entity, entity_id, before, after, details) VALUES "
             "(:a, 'promote_model', 'model_version', :v, CAST(:b AS jsonb), CAST(:af AS jsonb), CAST(:d AS jsonb))"),
        {"a": actor, "v": version,
         "b": json.dumps({"champion": previous, "status": target["status"]}),
         "af": json.dumps({"champion": version, "status": "champion"}),
         "d": json.dumps({"previous_champion_status": "challenger" if previous else None})},
    )
    log.info("%s promoted model %s (previous champion %s)", actor, version, previous)
    return {"version": version, "previous_champion": previous, "changed": True}


def read_artifact(row: dict[str, Any], settings: Settings, expected: type, what: str = "model") -> Any:
    """The unpickled artifact of a registry row (version, artifact_path, params.artifact_sha256) of the expected
    type; PdeError when its files are missing, altered or unreadable. what: how the user calls it."""
    version = row["version"]
    candidates = [Path(row["artifact_path"]), settings.models_dir / version]
    directory = next((d for d in candidates if (d / ARTIFACT).is_file()), None)
    if directory is None:
        raise PdeError(f"{what} {version}: artifact file {candidates[0] / ARTIFACT} is missing; "
                       f"restore the models directory or train a new {what}")
    path = directory / ARTIFACT
    sha = (row.get("params") or {}).get("artifact_sha256")
    if sha and _sha256(path) != sha:
        raise PdeError(f"{what} {version}: artifact {path} does not match the registered checksum (corrupt or "
                       "replaced)")
    try:
        obj = joblib.load(path)
    except Exception as exc:  # unpickling can fail in many ways; all mean the same to the user
        raise PdeError(f"{what} {version}: artifact {path} is unreadable ({type(exc).__name__}: {exc})") from exc
    if not isinstance(obj, expected):
        raise PdeError(f"{what} {version}: artifact {path} does not hold a {expected.__name__}")
    obj.version = version
    return obj


def load_model(settings: Settings, conn: Connection, version: str | None = None) -> PDModel:
    """The champion (or the given version) ready to score; loaded from disk once per process, then cached."""
    row = get_version(conn, version)
    key = (row["version"], str((row.get("params") or {}).get("artifact_sha256")))
    with _cache_lock:
        cached = _cache.get(key)
    if cached is not None:
        return cached
    model = read_artifact(row, settings, PDModel)
    with _cache_lock:
        _cache[key] = model
    return model


def clear_cache() -> None:
    """Forgets every loaded model (tests; after restoring artifact files)."""
    with _cache_lock:
        _cache.clear()
