"""The dashboard's pages run in Streamlit's AppTest against a real database: log-in, empty database, demo data."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, text
from streamlit.testing.v1 import AppTest

from predelinquency.scoring.plan import CONTACT, HOLDOUT, QUEUE_ORDER
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
    assert all(b.disabled for b in at.button if b.label in ("Retrain the model", "Run nightly scoring", "Advance"))
    assert "Advance the bank N days" in _texts(at) and "only works on a bank made by `pde generate`" in _texts(at)
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


def _plan_today(url: str, size: int = 30, every: int = 5) -> tuple[list[int], list[int]]:
    """Today's contact plan replaced by the top `size` of the queue with every `every`-th customer held out, as
    the nightly writes it (scoring/plan.py): the (contacted, held out) customer ids in rank order."""
    eng = create_engine(url)
    with eng.begin() as c:
        today = c.execute(text("SELECT pde_business_date()")).scalar_one()
        c.execute(text("DELETE FROM contact_plan WHERE business_date = :d"), {"d": today})
        top = c.execute(text(f"""
            SELECT rs.customer_id, rs.recommended_action, rs.tier, rs.pd, rs.exposure, rs.expected_benefit,
                   rs.model_version FROM risk_scores rs JOIN model_versions mv ON mv.version = rs.model_version
            WHERE mv.status = 'champion' AND rs.as_of = :d AND rs.urgency <= 3
            ORDER BY {QUEUE_ORDER} LIMIT :n"""), {"d": today, "n": size}).all()
        for rank, r in enumerate(top, 1):
            c.execute(text(
                "INSERT INTO contact_plan (business_date, customer_id, arm, rank, recommended_action, tier, pd, "
                "exposure, expected_benefit, model_version, policy_version) VALUES (:d, :c, :arm, :rank, :a, :t, "
                ":pd, :e, :b, :v, 'test-policy')"),
                {"d": today, "c": r.customer_id, "arm": HOLDOUT if rank % every == 0 else CONTACT, "rank": rank,
                 "a": r.recommended_action, "t": r.tier, "pd": r.pd, "e": r.exposure, "b": r.expected_benefit,
                 "v": r.model_version})
    eng.dispose()
    ids = [r.customer_id for r in top]
    return ([c for i, c in enumerate(ids, 1) if i % every], [c for i, c in enumerate(ids, 1) if not i % every])


def test_todays_plan_is_read_from_contact_plan_without_the_holdout(users, demo, capacity):
    import streamlit as st

    from predelinquency.operations.interventions import create_intervention

    contacted, held = _plan_today(demo)
    at = _logged_in(users["manager"]).run()
    at.switch_page("app_pages/action_center.py").run()
    assert f"Today's plan: **{len(contacted)}** customers to contact" in _texts(at)
    assert f"0 of the team's {capacity} contacts a day made so far, {capacity} remaining" in _texts(at)
    next(t for t in at.toggle if t.label == "Today's plan only").set_value(True).run()
    plan = at.dataframe[0].value
    assert list(plan["Customer"]) == contacted and set(plan["Plan"]) == {"★"}  # the nightly's ranks
    next(t for t in at.toggle if t.label == "Today's plan only").set_value(False).run()
    queue = set(at.dataframe[0].value["Customer"])
    assert set(contacted) <= queue and not queue & set(held)  # the control group is in nobody's queue

    eng = create_engine(demo)
    with eng.begin() as c:
        create_intervention(c, users["manager"], contacted[0], "agent_call", "phone", get_settings())
    eng.dispose()
    st.cache_data.clear()  # what every write from the dashboard does
    at.run()
    assert f"Today's plan: **{len(contacted) - 1}** customers to contact" in _texts(at)
    assert f"1 of the team's {capacity} contacts a day made so far, {capacity - 1} remaining" in _texts(at)

    officer = _logged_in(users["officer"]).run()
    officer.switch_page("app_pages/action_center.py").run()
    assert not set(officer.dataframe[0].value["Customer"]) & set(held)


def _create_on_deep_dive(at: AppTest, customer_id: int) -> AppTest:
    at.switch_page("app_pages/customer_deep_dive.py").run()
    at.text_input(key="dd_query").input(str(customer_id)).run()
    next(b for b in at.button if b.label == "Create intervention").click().run()
    return at


def test_held_out_customer_is_refused_to_officers_and_released_by_a_manager_with_a_reason(users, demo):
    _, held = _plan_today(demo)
    officer = _create_on_deep_dive(_logged_in(users["officer"]).run(), held[0])
    assert not officer.exception
    assert any("cannot be contacted today" in e.value for e in officer.error)
    assert "control group" not in (_texts(officer) + " ".join(e.value for e in officer.error)).lower()
    assert not any(b.label.startswith("Release") for b in officer.button)

    manager = _create_on_deep_dive(_logged_in(users["manager"]).run(), held[0])
    assert any("control group" in w.value for w in manager.warning)
    next(t for t in manager.text_input if t.label.startswith("Reason for releasing")).input("Called us for help")
    next(b for b in manager.button if b.label.startswith("Release and create")).click().run()
    assert not manager.exception and not manager.error
    eng = create_engine(demo)
    with eng.connect() as c:
        made = c.execute(text("SELECT count(*) FROM interventions WHERE customer_id = :c"), {"c": held[0]}).scalar()
        plan = c.execute(text("SELECT released_by, release_reason FROM contact_plan WHERE customer_id = :c "
                              "AND business_date = pde_business_date()"), {"c": held[0]}).one()
        audit = c.execute(text("SELECT action FROM action_audit_log WHERE actor = 'manager1' "
                               "AND action IN ('release_from_holdout', 'create_intervention') ORDER BY audit_id")
                          ).scalars().all()
    eng.dispose()
    assert made == 1 and tuple(plan) == ("manager1", "Called us for help")
    assert audit == ["release_from_holdout", "create_intervention"]


def test_sidebar_shows_the_business_date(users, demo):
    from datetime import date

    eng = create_engine(demo)
    with eng.connect() as c:
        today = c.execute(text("SELECT pde_business_date()")).scalar_one()
    eng.dispose()
    at = _logged_in(users["officer"]).run()
    shown = " ".join(str(c.value) for c in at.sidebar.caption)
    assert f"Business date **{today.isoformat()}**" in shown
    assert ("wall clock" in shown) == (today != date.today())
