"""Fixtures of the uplift tests: copies of the advanced bank (settled plan outcomes, potential outcomes), with a
private models directory, and a `pde` runner on such a copy.

The test bank is small (a few hundred settled outcomes): uplift.min_outcomes is lowered so that the two actions
the plan recommended there are learned, the others staying prior-only.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine
from sqlalchemy.engine import make_url

from predelinquency.db.engine import dispose_engines
from predelinquency.settings import Settings
from tests.support.bank import AdvancedBank
from tests.support.db import cloned_database

MIN_OUTCOMES = 20


def uplift_settings(url: str, data_dir: Path) -> Settings:
    """Settings on a copy of the advanced bank, learning from its few outcomes."""
    settings = Settings(data_dir=data_dir, database_url=url)
    settings.uplift = settings.uplift.model_copy(update={"min_outcomes": MIN_OUTCOMES})
    return settings


@pytest.fixture(scope="module")
def advanced_settings(pg_server_url: str, advanced_bank: AdvancedBank,
                      tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    """Settings on a copy of the advanced bank shared by one module (its PD model's files are the session's)."""
    with cloned_database(pg_server_url, advanced_bank.template) as url:
        yield uplift_settings(url, tmp_path_factory.mktemp("uplift") / "data")


@pytest.fixture(scope="module")
def advanced_engine(advanced_settings: Settings) -> Iterator[Engine]:
    eng = create_engine(advanced_settings.database_url)
    yield eng
    eng.dispose()


@pytest.fixture
def uplift_cli(pg_server_url: str, advanced_bank: AdvancedBank, tmp_path: Path,
               monkeypatch: pytest.MonkeyPatch) -> Iterator:
    """A CliRunner whose `pde` uses its own copy of the advanced bank and a private data directory."""
    from typer.testing import CliRunner

    from predelinquency.settings import get_settings

    with cloned_database(pg_server_url, advanced_bank.template) as url:
        monkeypatch.setenv("DATABASE_URL", url)
        monkeypatch.setenv("PDE_DATA_DIR", str(tmp_path / "data"))
        monkeypatch.setenv("PDE_UPLIFT__MIN_OUTCOMES", str(MIN_OUTCOMES))
        get_settings.cache_clear()
        yield CliRunner()
        get_settings.cache_clear()
        dispose_engines(make_url(url).database)  # pooled connections would keep it from being dropped
