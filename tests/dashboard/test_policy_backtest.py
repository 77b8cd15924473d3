"""The Interventions Tracker's "Policy backtest" section: how to run one when none has run, then the last one's
net benefit by policy, its figures, the engine's ratios and lead time, and when and on what it ran."""

from __future__ import annotations

from sqlalchemy import create_engine
from streamlit.testing.v1 import AppTest

from predelinquency.loop.backtest.run import backtest_policy
from predelinquency.settings import get_settings
from tests.support.dashboard import APP

TRACKER = "app_pages/interventions_tracker.py"


def _tracker(user) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    at.session_state["user"] = user
    return at.run().switch_page(TRACKER).run()


def test_without_a_backtest_the_section_says_how_to_run_one(users, demo):
    at = _tracker(users["officer"])
    assert not at.exception and not at.error
    assert any(m.value == "#### Policy backtest" for m in at.markdown)
    assert any("No policy backtest has been run yet" in i.value and "pde backtest policy" in i.value
               for i in at.info)


def test_the_last_backtest_is_shown(users, demo):
    engine = create_engine(demo)
    try:
        backtest_policy(engine, get_settings(), 3, 5, actor="cli:test")
        last = backtest_policy(engine, get_settings(), 2, 4, actor="cli:analyst")
    finally:
        engine.dispose()
    at = _tracker(users["officer"])
    assert not at.exception and not at.error, [e.value for e in at.error]
    metrics = {m.label: m.value for m in at.metric}
    assert {"Engine vs top K by PD", "Engine vs oracle", "Misses planned ahead", "Median lead time"} <= set(metrics)
    caption = " ".join(c.value for c in at.caption)
    assert "by cli:analyst" in caption and "2 plan days, 4 contacts a day" in caption
    assert last["model_version"] in caption and "no-contact world" in caption
    table = next(d.value for d in at.dataframe if "Expected net benefit" in d.value.columns)
    assert list(table["Policy"]) == ["No contact", "K at random", "Top K by PD", "Top K by expected loss",
                                     "The engine", "Oracle (true effects)"]
    assert list(table["Contacts"]) == [p["contacts"] for p in last["policies"].values()]
    chart = next(c for c in at.get("plotly_chart") if "Net benefit by policy" in c.proto.spec)
    assert chart is not None
