"""The FastAPI app factory: `create_app(settings)` for tests and embedding, `app_from_env()` for uvicorn workers."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

from predelinquency import __version__
from predelinquency.api.errors import install_error_handlers
from predelinquency.api.retraining import DEFAULT_COMMAND, Retrainer
from predelinquency.api.routes import actions, effects, health, holdout, plan, portfolio, predict, retraining
from predelinquency.api.state import ApiState, ChampionCache
from predelinquency.db.engine import POOL_SIZE
from predelinquency.errors import PdeError
from predelinquency.settings import Settings, get_settings

log = logging.getLogger(__name__)

DESCRIPTION = """
Scores, portfolio figures and officer actions of the Pre-Delinquency Engine.

Every endpoint except `/health` needs an API key: `pde apikey create --user NAME`, then send
`Authorization: Bearer <key>`. The key acts with its user's role (officer, manager, admin), re-read on every
request; `/health` says more (champion version, the last run's details) when given one.
Errors are `{"detail": "..."}`; invalid input is a 422 with a `message` and field-level `detail`.
"""


def _warm_up(state: ApiState) -> None:
    """Loads the champion before the first request needs it; a missing model or database is not fatal here."""
    try:
        with state.engine().connect() as conn:
            state.champion.get(conn)
    except PdeError as exc:
        log.warning("starting without a champion model: %s", exc)
    except Exception as exc:  # the database may come up after the API; /health says so meanwhile
        log.warning("starting without the database: %s", exc)


SWAGGER_UI = Path(__file__).with_name("static") / "swagger-ui"  # vendored swagger-ui-dist, see its VERSION


def _serve_docs(app: FastAPI) -> None:
    """Swagger UI at /docs from assets shipped with the package: the page works without internet access."""
    app.mount("/docs-assets", StaticFiles(directory=SWAGGER_UI), name="docs-assets")

    @app.get("/docs", include_in_schema=False)
    async def docs() -> HTMLResponse:
        return get_swagger_ui_html(openapi_url=app.openapi_url or "/openapi.json", title=f"{app.title} — docs",
                                   swagger_js_url="/docs-assets/swagger-ui-bundle.js",
                                   swagger_css_url="/docs-assets/swagger-ui.css", swagger_favicon_url="data:,")


def create_app(settings: Settings | None = None, *, train_command: Sequence[str] = DEFAULT_COMMAND,
               champion_check_seconds: float = 5.0, warm_up: bool = True) -> FastAPI:
    """The API app on these settings (default: the process's), with its own champion-model cache."""
    settings = settings or get_settings()
    state = ApiState(settings=settings, champion=ChampionCache(settings, champion_check_seconds),
                     retrainer=Retrainer(settings, tuple(train_command)))

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        import anyio

        # request work runs in threads, each on a pooled connection: more threads than pooled connections would
        # open and close a connection per request and fight over the GIL instead of waiting in line
        anyio.to_thread.current_default_thread_limiter().total_tokens = POOL_SIZE
        if warm_up:
            await anyio.to_thread.run_sync(_warm_up, state)
        yield

    # docs_url/redoc_url off: FastAPI's pages load Swagger UI from a CDN, which a bank's network usually blocks
    app = FastAPI(title="Pre-Delinquency Engine API", version=__version__, description=DESCRIPTION,
                  lifespan=lifespan, docs_url=None, redoc_url=None)
    app.state.api = state
    _serve_docs(app)
    install_error_handlers(app)
    for module in (predict, portfolio, plan, actions, effects, holdout, retraining, health):
        app.include_router(module.router)
    return app


def app_from_env() -> FastAPI:
    """The app on the environment's settings: the factory `pde api` gives uvicorn (one per worker process)."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("predelinquency").setLevel(logging.INFO)  # model loads, retraining triggers
    return create_app(get_settings())
