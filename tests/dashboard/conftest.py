"""Dashboard test fixtures: the app pointed at a fresh database, users of each role, and the demo rows."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # the dashboard package lives at the repository root, not under src/
    sys.path.insert(0, str(ROOT))

from dashboard_support import PASSWORD, seed_demo  # noqa: E402

from predelinquency.operations.users import User, create_user  # noqa: E402
from predelinquency.settings import Settings, get_settings  # noqa: E402


def _reset_caches() -> None:
    import streamlit as st

    from dashboard.queries import core

    get_settings.cache_clear()
    core.engine.clear()
    st.cache_data.clear()


@pytest.fixture
def app_db(fresh_db: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[str]:
    """A fresh database the dashboard (run in this process by AppTest) reads through DATABASE_URL."""
    monkeypatch.setenv("DATABASE_URL", fresh_db)
    monkeypatch.setenv("PDE_DATA_DIR", str(tmp_path / "data"))
    _reset_caches()
    yield fresh_db
    from dashboard.queries import core

    core.engine().dispose()
    _reset_caches()


@pytest.fixture
def users(app_db: str) -> dict[str, User]:
    """One user of each role, committed (the app reads them on its own connections)."""
    eng = create_engine(app_db)
    with eng.begin() as conn:
        made = {role: create_user(conn, f"{role}1", PASSWORD, role, "cli:test", full_name=f"{role.title()} One")
                for role in ("officer", "manager", "admin")}
    eng.dispose()
    return made


@pytest.fixture
def demo(app_db: str) -> str:
    """The demo rows (300 customers, three scorings, two models, runs with drift) in the app's database."""
    eng = create_engine(app_db)
    with eng.begin() as conn:
        seed_demo(conn, Settings())
    eng.dispose()
    return app_db
