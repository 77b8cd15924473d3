"""The API's champion cache on real models: the demo bank's champion and challenger (tests/conftest.py)."""

import pytest
from sqlalchemy import Connection, text

from predelinquency.api.errors import Unavailable
from predelinquency.api.state import ChampionCache
from predelinquency.model.registry import promote
from predelinquency.settings import Settings
from tests.support.api import insert_model


def test_no_champion_is_503(conn: Connection, settings: Settings):
    with pytest.raises(Unavailable, match=r"^no champion model: run pde train first$"):
        ChampionCache(settings, check_every=0.0).get(conn)


def test_champion_is_loaded_once_and_follows_promotions(demo_conn: Connection, demo_module_settings: Settings,
                                                        demo_bank):
    cache = ChampionCache(demo_module_settings, check_every=0.0)
    first = cache.get(demo_conn)
    assert first.version == demo_bank.model_version and cache.get(demo_conn) is first  # not reloaded
    promote(demo_conn, demo_bank.challenger, "cli:test")
    second = cache.get(demo_conn)
    assert second.version == demo_bank.challenger and second is not first
    assert 0 < float(second.predict_pd({n: 0.0 for n in second.feature_names})[0]) < 1


def test_champion_is_rechecked_only_every_few_seconds(demo_conn: Connection, demo_module_settings: Settings, demo_bank):
    cache = ChampionCache(demo_module_settings, check_every=3600.0)
    assert cache.get(demo_conn).version == demo_bank.model_version
    demo_conn.execute(text("UPDATE model_versions SET status = 'retired'"))
    assert cache.get(demo_conn).version == demo_bank.model_version  # within the interval: no query at all


def test_an_unloadable_champion_is_503_without_paths(conn: Connection, settings: Settings):
    insert_model(conn, "broken")  # a registry row whose artifact directory does not exist
    with pytest.raises(Unavailable) as err:
        ChampionCache(settings, check_every=0.0).get(conn)
    assert str(err.value) == "champion model broken cannot be loaded; the server log says why"
