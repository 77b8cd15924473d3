"""What one API process holds: its settings, its one engine, and the champion model (re-checked every few seconds)."""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sqlalchemy import Connection, Engine, text

from predelinquency.api.errors import Unavailable
from predelinquency.db.engine import DatabaseUnavailable, get_engine
from predelinquency.errors import NotFound, PdeError
from predelinquency.settings import Settings

if TYPE_CHECKING:
    from predelinquency.api.retraining import Retrainer
    from predelinquency.model.pd_model import PDModel

log = logging.getLogger(__name__)
NO_CHAMPION = "no champion model: run pde train first"


class ChampionCache:
    """The champion model, loaded once; its version is re-read from the database at most every `check_every` s.

    Between checks a request costs nothing extra; a promotion or a new champion is picked up within
    `check_every` seconds by every worker process, without a restart.
    """

    def __init__(self, settings: Settings, check_every: float = 5.0) -> None:
        self.settings = settings
        self.check_every = check_every
        self._model: PDModel | None = None
        self._checked = float("-inf")
        self._lock = threading.Lock()

    def version(self, conn: Connection) -> str | None:
        """The champion's version as the database says now (None: there is none)."""
        return conn.execute(text("SELECT version FROM model_versions WHERE status = 'champion'")).scalar()

    def get(self, conn: Connection) -> PDModel:
        """The champion model; Unavailable (503) when there is none or its artifact cannot be loaded."""
        model = self._model
        if model is not None and time.monotonic() - self._checked < self.check_every:
            return model
        with self._lock:  # one request reloads; the others wait for it rather than load the same files
            if self._model is not None and time.monotonic() - self._checked < self.check_every:
                return self._model
            version = self.version(conn)
            if version is None:
                self._model = None
                raise Unavailable(NO_CHAMPION)
            if self._model is None or self._model.version != version:
                from predelinquency.model.registry import load_model

                try:
                    self._model = load_model(self.settings, conn, version)
                except NotFound as exc:  # demoted between the two reads: the next request sees the new one
                    raise Unavailable(str(exc)) from exc
                except PdeError as exc:  # artifact missing or corrupt: the model cannot serve, the API can
                    log.error("champion model %s cannot be loaded: %s", version, exc)  # paths stay in the log
                    raise Unavailable(f"champion model {version} cannot be loaded; the server log says why") from exc
                # the explanation tables are built here, under the lock, not by the first request that explains
                self._model.prepare_explanations()
                log.info("serving champion model %s", version)
            self._checked = time.monotonic()
            return self._model


@dataclass
class ApiState:
    """Per-process state shared by the requests of one app."""

    settings: Settings
    champion: ChampionCache
    retrainer: Retrainer
    _engine: Engine | None = field(default=None, repr=False)
    _engine_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def engine(self) -> Engine:
        """The process's engine, created on first use; DatabaseUnavailable when the database cannot be set up."""
        if self._engine is None:
            with self._engine_lock:
                if self._engine is None:
                    try:
                        self._engine = get_engine(self.settings, role="app")
                    except DatabaseUnavailable:
                        raise
                    except Exception as exc:  # the embedded server failed to start: the API stays up, says 503
                        log.exception("cannot set up the database engine")
                        raise DatabaseUnavailable(f"the database cannot be started: {type(exc).__name__}") from exc
        return self._engine
