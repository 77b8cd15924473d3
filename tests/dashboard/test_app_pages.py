"""The dashboard's pages run in Streamlit's AppTest against a real database: log-in, empty database, demo data."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, text
from streamlit.testing.v1 import AppTest

from predelinquency.settings import get_settings
from tests.support.dashboard import APP
from tests.support.users import PASSWORD

PAGES = {
    "app_pages/action_center.py": "Action Center",
    "app_pages/risk_overview.py": "Risk Overview",
    "app_pages/customer_deep_dive.py": "Customer Deep Dive",
    "app_pages/realtime_monitor.py": "Real-time Monitor",
    "app_pages/model_performance.py": "Model Performance",
    "app_pages/interventions_tracker.py": "Interventions Tracker",
    "app_pages/data_management.py": "Data Management",
}


def _texts(at: AppTest) -> str:
    parts = [e.value for kind in ("title", "subheader", "markdown", "caption", "info", "warning", "success")
             for e in getattr(at, kind)]
    return "\n".join(str(p) for p in parts)


def _logged_in(user) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    at.session_state["user"] = user
    return at


def test_login_form_logs_in_and_refuses_a_wrong_password(users, app_db):
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert [t.label for t in at.text_input] == ["Username", "Password"]
    assert at.button[0].label == "Log in"
    at.text_input[0].input("officer1")
    at.text_input[1].input("wrong password!!")
    at.button[0].click().run()
    assert "invalid username or password" in at.error[0].value.lower()
    assert "user" not in at.session_state
    at.text_input[1].input(PASSWORD)
    at.button[0].click().run()
    assert at.session_state["user"].username == "officer1"
    assert not at.exception
    assert "Action Center" in _texts(at)
    eng = create_engine(app_db)
    with eng.connect() as c:
        actions = c.execute(text("SELECT action FROM action_audit_log WHERE actor = 'officer1' ORDER BY audit_id"))
        assert [a for (a,) in actions] == ["login_failed", "login"]
    eng.dispose()


def test_every_page_explains_an_empty_database(users):
    at = _logged_in(users["manager"]).run()
    for path, title in PAGES.items():
        at.switch_page(path).run()
        assert not at.exception, (path, at.exception)
        assert not at.error, (path, [e.value for e in at.error])
        assert title in [t.value for t in at.title], path
        if path != "app_pages/data_management.py":
            assert at.info, f"{path}: an empty page should say why it is empty"


def test_every_page_renders_the_demo_data(users, demo):
    at = _logged_in(users["manager"]).run()
    for path in PAGES:
        at.switch_page(path).run()
        assert not at.exception, (path, at.exception)
        alerts = [e.value for e in at.error]
        if path == "app_pages/realtime_monitor.py":  # the demo's runs may jump tiers or drift; nothing failed
            assert all(a.startswith(("**Tier jumps:**", "**Drift beyond")) for a in alerts), alerts
        else:
            assert not alerts, (path, alerts)
    at.switch_page("app_pages/action_center.py").run()
    assert len(at.dataframe) >= 1 and at.metric[0].label.startswith("1 ·")
    at.switch_page("app_pages/risk_overview.py").run()
    assert {m.label for m in at.metric} >= {"Customers scored", "High risk", "Critical", "Expected loss"}
    at.switch_page("app_pages/model_performance.py").run()
    shown = _texts(at) + " ".join(str(o) for box in at.selectbox for o in box.options)
    assert all(v in shown for v in demo_versions(demo)), shown[:500]


def demo_versions(url: str) -> set[str]:
    eng = create_engine(url)
    with eng.connect() as c:
        versions = set(c.execute(text("SELECT version FROM model_versions")).scalars())
    eng.dispose()
    return versions


def test_monitor_alerts_on_drift_and_failed_runs(users, demo):
    from predelinquency.db.runs import recorded_run
    from predelinquency.errors import PdeError
    from predelinquency.scoring.nightly import run_nightly
    from predelinquency.settings import get_settings

    eng = create_engine(demo)
    try:
        with recorded_run(eng, "train", "cli:ops", {}):
            raise PdeError("the data covers 20 days; training needs at least 165")
    except PdeError:
        pass
    # a population that is only the riskiest fifth of the portfolio drifts far beyond the retrain band
    with eng.begin() as c:
        c.execute(text("UPDATE customers SET is_active = false WHERE customer_id NOT IN (SELECT customer_id "
                       "FROM risk_scores WHERE as_of = (SELECT max(as_of) FROM risk_scores) ORDER BY pd DESC "
                       "LIMIT (SELECT count(*) / 5 FROM customers))"))
    run_nightly(eng, get_settings(), "system:test")
    eng.dispose()
    at = _logged_in(users["manager"]).run()
    at.switch_page("app_pages/realtime_monitor.py").run()
    assert not at.exception
    alerts = [e.value for e in at.error]
    assert any("Drift beyond the retrain band" in a for a in alerts), alerts
    assert any("failed run" in a and "training needs at least 165" in a for a in alerts), alerts
    at.switch_page("app_pages/data_management.py").run()
    assert any("failed" in e.value and "training needs at least 165" in e.value for e in at.error)


def test_deep_dive_finds_by_name_prefix_and_shows_the_customer(users, demo):
    eng = create_engine(demo)
    with eng.connect() as c:
        name = c.execute(text("SELECT full_name FROM customers WHERE customer_id = 1")).scalar_one()
    eng.dispose()
    at = _logged_in(users["officer"]).run()
    at.switch_page("app_pages/customer_deep_dive.py").run()
    at.text_input(key="dd_query").input(name.split()[0][:4].lower()).run()
    assert not at.exception and not at.error
    assert at.selectbox[0].label.endswith("matches")
    at.text_input(key="dd_query").input("1").run()
    assert "customer 1" in _texts(at)
    assert {m.label for m in at.metric} >= {"Monthly income", "Credit outstanding", "Case officer"}


def test_officer_cannot_start_jobs_or_promote(users, demo):
    at = _logged_in(users["officer"]).run()
    at.switch_page("app_pages/data_management.py").run()
    assert all(b.disabled for b in at.button if b.label in ("Retrain the model", "Run nightly scoring"))
    assert "Only managers and admins can upload" in _texts(at)
    at.switch_page("app_pages/model_performance.py").run()
    assert "Only managers and admins can promote" in _texts(at)
    assert not any(b.label == "Promote to champion" for b in at.button)


@pytest.fixture
def capacity(monkeypatch: pytest.MonkeyPatch) -> Iterator[int]:
    """A team that makes 20 contacts a day: fewer than the demo bank's queue holds."""
    monkeypatch.setenv("PDE_OPERATIONS__DAILY_CONTACT_CAPACITY", "20")
    get_settings.cache_clear()
    yield 20
    get_settings.cache_clear()


def test_todays_plan_fills_the_teams_capacity_and_shrinks_as_they_act(users, demo, capacity):
    import streamlit as st

    from predelinquency.operations.interventions import create_intervention

    at = _logged_in(users["manager"]).run()
    at.switch_page("app_pages/action_center.py").run()
    assert f"Today's plan: **{capacity}** customers to contact" in _texts(at)
    next(t for t in at.toggle if t.label == "Today's plan only").set_value(True).run()
    plan = at.dataframe[0].value
    assert len(plan) == capacity and set(plan["Plan"]) == {"★"}
    assert list(plan["Urgency"]) == sorted(plan["Urgency"])  # the top of the queue: most urgent first
    first = int(plan["Customer"].iloc[0])

    eng = create_engine(demo)
    with eng.begin() as c:
        create_intervention(c, users["manager"], first, "agent_call", "phone", get_settings())
    eng.dispose()
    st.cache_data.clear()  # what every write from the dashboard does
    at.run()
    assert f"Today's plan: **{capacity - 1}** customers to contact" in _texts(at)
    assert f"1 of the team's {capacity} contacts a day made so far" in _texts(at)
    after = at.dataframe[0].value
    assert len(after) == capacity - 1 and first not in set(after["Customer"])
