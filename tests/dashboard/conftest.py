"""Dashboard test fixtures: the app on a fresh database (empty, or a copy of the demo bank), users of each role."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine

from predelinquency.operations.users import User, create_user
from predelinquency.settings import get_settings
from tests.support.users import PASSWORD


def _reset_caches() -> None:
    import streamlit as st

    from dashboard.queries import core

    get_settings.cache_clear()
    core.engine.clear()
    st.cache_data.clear()


@pytest.fixture
def app_db(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[str]:
    """The database the dashboard (run in this process by AppTest) reads through DATABASE_URL.

    A copy of the demo bank (with its model artifacts) when the test also asks for `demo`; empty otherwise.
    """
    if "demo" in request.fixturenames:
        url, data_dir = request.getfixturevalue("demo_db"), request.getfixturevalue("demo_bank").data_dir
    else:
        url, data_dir = request.getfixturevalue("fresh_db"), tmp_path / "data"
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("PDE_DATA_DIR", str(data_dir))
    _reset_caches()
    yield url
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
    """The app's database holds the demo bank: customers, a champion and a challenger, three nightly runs."""
    return app_db
