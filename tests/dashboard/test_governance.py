"""Model governance on the pages: expected vs realised performance and the champion's fairness on Model Performance,
the retrain and fairness alerts on the Real-time Monitor (AppTest against a copy of the demo bank)."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import create_engine, text
from streamlit.testing.v1 import AppTest

from predelinquency.settings import get_settings
from tests.support.dashboard import APP

MODEL_PERFORMANCE = "app_pages/model_performance.py"
MONITOR = "app_pages/realtime_monitor.py"


def _page(user, path: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    at.session_state["user"] = user
    at.run()
    at.switch_page(path).run()
    assert not at.exception, at.exception
    return at


def _markdown(at: AppTest) -> str:
    return "\n".join(str(e.value) for kind in ("markdown", "caption", "info") for e in getattr(at, kind))


def _execute(url: str, sql: str, **params) -> None:
    eng = create_engine(url)
    with eng.begin() as c:
        c.execute(text(sql), params)
    eng.dispose()


def test_model_performance_shows_expected_and_realised_runs_and_fairness(users, demo, app_db):
    # the demo's runs are days old: their windows have not closed, so one is given realised figures to draw
    _execute(app_db, "UPDATE run_performance SET realised_on = as_of + 35, labelled_rows = rows, realised_auc = 0.7, "
                     "realised_default_rate = 0.05 WHERE as_of = (SELECT min(as_of) FROM run_performance)")
    at = _page(users["manager"], MODEL_PERFORMANCE)
    text_ = _markdown(at)
    assert "Performance before the labels arrive" in text_ and "Fairness of the champion" in text_
    charts = [json.loads(c.proto.spec)["layout"]["title"]["text"] for c in at.get("plotly_chart")]
    assert "Expected vs realised performance per nightly run" in charts
    figure = next(json.loads(c.proto.spec) for c in at.get("plotly_chart")
                  if "Expected vs realised" in json.loads(c.proto.spec)["layout"]["title"]["text"])
    names = {t["name"] for t in figure["data"]}
    assert names == {"Expected AUC", "Realised AUC", "Expected default rate", "Realised default rate"}
    assert not at.error


def test_the_monitor_raises_the_retrain_and_fairness_alerts(users, demo, app_db, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("PDE_GOVERNANCE__AUC_FLOOR", "0.99")
    get_settings.cache_clear()
    alert = {"attribute": "region", "group": "North", "metric": "adverse_impact_ratio", "value": 0.61, "limit": 0.8}
    _execute(app_db, "UPDATE run_performance SET fairness = jsonb_set(fairness, '{alerts}', CAST(:a AS jsonb)) "
                     "WHERE as_of = (SELECT max(as_of) FROM run_performance)", a=json.dumps([alert]))
    at = _page(users["officer"], MONITOR)
    retrain = [e.value for e in at.error if e.value.startswith("**Retrain:**")]
    assert len(retrain) == 1 and "expected (from the PDs alone)" in retrain[0] and "below the floor 0.99" in retrain[0]
    fairness = [e.value for e in at.warning if e.value.startswith("**Fairness:**")]
    assert len(fairness) == 1 and "Region North: adverse impact 0.61 (limit 0.80" in fairness[0]


def test_the_monitor_is_quiet_above_the_floor(users, demo):
    at = _page(users["officer"], MONITOR)
    assert not [e for e in at.error if e.value.startswith("**Retrain:**")]


def test_model_performance_offers_the_model_report(users, demo, demo_bank):
    at = _page(users["manager"], MODEL_PERFORMANCE)
    assert not at.get("download_button")
    next(b for b in at.button if b.label == "Prepare the report").click().run()
    assert not at.exception, at.exception
    labels = [d.proto.label for d in at.get("download_button")]
    assert labels == ["Download HTML"]
    html = at.session_state["model_report_ready"]
    assert html in (demo_bank.model_version, demo_bank.challenger)
