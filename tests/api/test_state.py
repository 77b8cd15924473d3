from dataclasses import dataclass

import pytest
from sqlalchemy import Connection, text

from predelinquency.api.errors import Unavailable
from predelinquency.api.state import ChampionCache
from predelinquency.errors import PdeError
from predelinquency.model import registry
from predelinquency.settings import Settings

from .conftest import insert_model


@dataclass
class Loaded:
    version: str


@pytest.fixture
def loads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The versions load_model was asked for (it returns a stand-in instead of reading artifacts)."""
    asked: list[str] = []

    def fake_load(settings, conn, version=None):
        asked.append(version)
        if version == "broken":
            raise PdeError("model broken: artifact file /secret/path/model.joblib is missing")
        return Loaded(version)
    monkeypatch.setattr(registry, "load_model", fake_load)
    return asked


def test_champion_is_cached_and_follows_promotions(conn: Connection, settings: Settings, loads: list[str]):
    cache = ChampionCache(settings, check_every=0.0)
    with pytest.raises(Unavailable, match=r"^no champion model: run pde train first$"):
        cache.get(conn)
    insert_model(conn, "v1")
    assert cache.get(conn).version == "v1" and cache.get(conn).version == "v1"
    assert loads == ["v1"]  # loaded once, then only its version is re-read
    insert_model(conn, "v2", "challenger")
    conn.execute(text("UPDATE model_versions SET status = 'challenger' WHERE version = 'v1'"))
    conn.execute(text("UPDATE model_versions SET status = 'champion' WHERE version = 'v2'"))
    assert cache.get(conn).version == "v2" and loads == ["v1", "v2"]


def test_champion_is_rechecked_only_every_few_seconds(conn: Connection, settings: Settings, loads: list[str]):
    cache = ChampionCache(settings, check_every=3600.0)
    insert_model(conn, "v1")
    assert cache.get(conn).version == "v1"
    conn.execute(text("UPDATE model_versions SET status = 'retired'"))
    assert cache.get(conn).version == "v1"  # within the interval: no query at all


def test_an_unloadable_champion_is_503_without_paths(conn: Connection, settings: Settings, loads: list[str]):
    cache = ChampionCache(settings, check_every=0.0)
    insert_model(conn, "broken")
    with pytest.raises(Unavailable) as err:
        cache.get(conn)
    assert str(err.value) == "champion model broken cannot be loaded; the server log says why"
