"""The Interventions Tracker measures what contacts prevent from settled contact-plan outcomes (loop.effects),
says when there is not enough data yet, and lets a manager change the control group's share (audited)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import create_engine, text
from streamlit.testing.v1 import AppTest

from predelinquency.settings import get_settings
from tests.support.dashboard import APP, add_settled_plans

TRACKER = "app_pages/interventions_tracker.py"


def _tracker(user) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    at.session_state["user"] = user
    return at.run().switch_page(TRACKER).run()


def _today(conn):
    return conn.execute(text("SELECT pde_business_date()")).scalar_one()


def test_tracker_shows_the_measured_uplift_with_its_interval_and_the_true_uplift(users, demo):
    from predelinquency.operations.interventions import create_intervention

    eng = create_engine(demo)
    with eng.begin() as c:
        today = _today(c)
        units = add_settled_plans(c, today - timedelta(days=120), weeks=7, truth=True)
        customer = c.execute(text(
            "SELECT customer_id FROM customers WHERE customer_id NOT IN (SELECT customer_id FROM contact_plan "
            "WHERE business_date = :d) ORDER BY customer_id LIMIT 1"), {"d": today}).scalar_one()
        made = create_intervention(c, users["manager"], customer, "agent_call", "phone", get_settings())
        # what the nightly's settlement writes once the outcome window has closed (scoring/settle.py)
        c.execute(text("UPDATE interventions SET outcome_due_date = :due, payment_outcome = 'missed', "
                       "settled_on = :d WHERE intervention_id = :i"),
                  {"due": today + timedelta(days=9), "d": today, "i": made["intervention_id"]})
    eng.dispose()
    at = _tracker(users["manager"])
    assert not at.exception and not at.error, [e.value for e in at.error]
    metrics = {m.label: m for m in at.metric}
    per_arm = units // 2
    assert metrics["Uplift"].value == "+20.0 pts"  # 30 % of the held out missed, 10 % of the contacted
    assert metrics["Uplift"].proto.delta.startswith("95 % CI [+")
    assert metrics["Prevented defaults"].value == f"{0.2 * per_arm:,.1f}"
    assert {"Prevented loss", "Contact cost", "ROI"} <= set(metrics)
    assert at.get("plotly_chart"), "the weekly miss-rate chart"
    by_action = next(d.value for d in at.dataframe if "True uplift" in d.value.columns)
    assert set(by_action["Action"]) == {"Agent call", "Soft reminder"}
    assert set(by_action["True uplift"]) == {"+20.0 pts"}
    assert all(u.startswith("+20.0 pts [") for u in by_action["Uplift [95 % CI]"])
    listing = at.dataframe[-1].value
    row = listing[listing["Intervention"] == made["intervention_id"]].iloc[0]
    assert row["Payment outcome"] == f"Missed (due {(today + timedelta(days=9)):%d %b %Y})"
    shown = " ".join(str(m.value) for m in at.markdown) + " ".join(str(c.value) for c in at.caption)
    assert "success rate" not in shown.lower() and "recovered" not in shown.lower()


def test_tracker_says_not_enough_data_yet_with_few_outcomes(users, demo):
    eng = create_engine(demo)
    with eng.begin() as c:
        add_settled_plans(c, _today(c) - timedelta(days=60), weeks=1, customers=60)
    eng.dispose()
    at = _tracker(users["officer"])
    assert not at.exception and not at.error
    info = " ".join(i.value for i in at.info)
    assert "Not enough data yet: about" in info and "more settled outcomes needed" in info
    assert "Settled so far: 30 contacted and 30 held out" in info
    assert "Uplift" not in {m.label for m in at.metric}
    assert not any("Control group" in e.label for e in at.expander)  # officers never see the control group


def test_manager_changes_the_holdout_share_and_it_is_audited(users, demo):
    at = _tracker(users["manager"])
    panel = next(e for e in at.expander if e.label.startswith("Control group"))
    assert "10% of each plan" in panel.label
    next(n for n in at.number_input if n.label.startswith("Share of each day's plan")).set_value(25.0)
    next(b for b in at.button if b.label == "Change the share").click().run()
    assert not at.exception and not at.error
    assert any("share is now 25% (was 10%)" in s.value for s in at.success)
    eng = create_engine(demo)
    with eng.connect() as c:
        value = c.execute(text("SELECT value FROM operations_overrides WHERE key = 'holdout_share'")).scalar_one()
        audit = c.execute(text("SELECT actor, before, after FROM action_audit_log "
                               "WHERE action = 'set_holdout_share'")).one()
    eng.dispose()
    assert value == 0.25
    assert audit.actor == "manager1" and audit.after == {"holdout_share": 0.25}
    assert audit.before == {"holdout_share": 0.1}
