"""The control group: refused for contact, a manager's audited release, the share (operations/holdout.py)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import Connection, text

from predelinquency.db.calendar import business_date, move_business_date
from predelinquency.errors import Conflict, Forbidden, PdeError
from predelinquency.operations.audit import recent_audit
from predelinquency.operations.holdout import holdout_summary, release_from_holdout, set_holdout_share
from predelinquency.operations.interventions import create_intervention
from predelinquency.scoring.plan import holdout_share
from predelinquency.settings import Settings
from tests.support.operations import People, count


def _hold_out(conn: Connection, customer: int, days_ago: int = 0) -> None:
    conn.execute(text(
        "INSERT INTO contact_plan (business_date, customer_id, arm, rank, recommended_action, tier, pd, exposure, "
        "expected_benefit, model_version, policy_version) "
        "VALUES (pde_business_date() - :ago, :c, 'holdout', 1, 'agent_call', 'High', 0.2, 100, 10, 'v', 'p')"),
        {"c": customer, "ago": days_ago})


def test_a_held_out_customer_cannot_be_contacted(conn: Connection, people: People, customer: int):
    _hold_out(conn, customer, days_ago=3)
    with pytest.raises(Conflict, match=f"customer {customer} is in the control group .* A manager can release"):
        create_intervention(conn, people.officer, customer, "agent_call", "phone", Settings())
    # an officer cannot release them, even with a reason
    with pytest.raises(Forbidden, match="may not see the control group's size"):
        create_intervention(conn, people.officer, customer, "agent_call", "phone", Settings(),
                            release_reason="customer rang us")
    assert count(conn, "interventions") == 0 and count(conn, "contact_plan", "released_at IS NOT NULL") == 0


def test_a_manager_releases_with_a_reason_and_the_customer_leaves_the_measurement(
        conn: Connection, people: People, customer: int):
    _hold_out(conn, customer)
    made = create_intervention(conn, people.manager, customer, "agent_call", "phone", Settings(),
                               release_reason="customer asked for a call back")
    assert made["customer_id"] == customer
    row = conn.execute(text("SELECT released_by, release_reason FROM contact_plan WHERE customer_id = :c"),
                       {"c": customer}).one()
    assert tuple(row) == ("maria", "customer asked for a call back")
    actions = [a["action"] for a in recent_audit(conn, entity="customer", entity_id=customer)]
    assert "release_from_holdout" in actions
    # released once; the next contact needs no release (the cool-down aside)
    with pytest.raises(Conflict, match="cool-down"):
        create_intervention(conn, people.manager, customer, "soft_reminder", "sms", Settings())


def test_a_release_needs_a_reason_and_a_draw(conn: Connection, people: People, customer: int):
    with pytest.raises(Conflict, match="not in the control group"):
        release_from_holdout(conn, people.manager, customer, "why not", Settings())
    _hold_out(conn, customer)
    for reason in ("", "   ", "x" * 2001):
        with pytest.raises(PdeError, match="reason"):
            release_from_holdout(conn, people.manager, customer, reason, Settings())


def test_the_draw_lasts_the_outcome_window(conn: Connection, people: People, customer: int):
    _hold_out(conn, customer)
    today = business_date(conn)
    move_business_date(conn, today + timedelta(days=Settings().operations.outcome_window_days))
    # the window has closed: the customer may be contacted again
    create_intervention(conn, people.officer, customer, "agent_call", "phone", Settings())


def test_managers_set_the_share_and_see_the_group(conn: Connection, people: People, customer: int):
    settings = Settings()
    assert holdout_share(conn, settings) == settings.operations.holdout_share
    for bad in ("lots", -0.1, 0.51, None):
        with pytest.raises(PdeError, match="holdout share must be"):
            set_holdout_share(conn, people.manager, bad, settings)
    with pytest.raises(Forbidden):
        set_holdout_share(conn, people.officer, 0.2, settings)
    assert set_holdout_share(conn, people.manager, 0.2, settings) == {"before": 0.1, "after": 0.2}
    assert holdout_share(conn, settings) == 0.2
    audit = recent_audit(conn, entity="setting")[0]
    assert audit["actor"] == "maria" and audit["after"] == {"holdout_share": 0.2}
    _hold_out(conn, customer)
    summary = holdout_summary(conn, people.manager, settings)
    assert summary["held_out_now"] == 1 and summary["share"] == 0.2 and summary["set_by"] == "maria"
    with pytest.raises(Forbidden):
        holdout_summary(conn, people.officer, settings)
