"""Today's contact plan and its randomised control group, drawn by the nightly (scoring/plan.py)."""

from __future__ import annotations

from collections import Counter
from datetime import date, timedelta

import numpy as np
from sqlalchemy import Connection, text

from predelinquency.scoring.plan import build_plan, draw_holdout, existing_plan
from predelinquency.settings import Settings
from tests.support.bank import DemoBank


def _plan(conn: Connection, day: date) -> dict[int, str]:
    return dict(conn.execute(text("SELECT customer_id, arm FROM contact_plan WHERE business_date = :d"),
                             {"d": day}).all())


def _rebuild(conn: Connection, settings: Settings, day: date, version: str) -> dict[int, str]:
    conn.execute(text("DELETE FROM contact_plan WHERE business_date = :d"), {"d": day})
    build_plan(conn, settings, day, version, None)
    return _plan(conn, day)


def test_the_nightly_draws_todays_plan_from_the_queue(demo_conn: Connection, demo_bank: DemoBank):
    plan = _plan(demo_conn, demo_bank.as_of)
    summary = existing_plan(demo_conn, demo_bank.as_of)
    assert plan and summary is not None
    assert summary.contacted == sum(a == "contact" for a in plan.values())
    # every planned customer is in the work queue with an action worth taking
    bad = demo_conn.execute(text(
        "SELECT count(*) FROM contact_plan p JOIN risk_scores rs ON rs.customer_id = p.customer_id "
        "AND rs.as_of = p.business_date AND rs.model_version = p.model_version "
        "WHERE p.business_date = :d AND (rs.urgency > 3 OR rs.recommended_action = 'none' "
        "OR rs.recommended_action <> p.recommended_action OR rs.tier <> p.tier)"), {"d": demo_bank.as_of}).scalar_one()
    assert bad == 0
    # the nightly for the current business date moved the business date to it
    assert demo_conn.execute(text("SELECT pde_business_date()")).scalar_one() == demo_bank.as_of
    # a backfill draws no plan
    assert not _plan(demo_conn, demo_bank.as_ofs[0])


def test_capacity_counts_only_the_contacted(demo_conn: Connection, demo_bank: DemoBank):
    settings = Settings()
    settings.operations = settings.operations.model_copy(update={"daily_contact_capacity": 40,
                                                                 "holdout_share": 0.25})
    plan = _rebuild(demo_conn, settings, demo_bank.as_of, demo_bank.model_version)
    arms = Counter(plan.values())
    assert arms["contact"] == 40
    assert 8 <= arms["holdout"] <= 18  # a quarter of the population, by stratum
    # the population is the top of the queue: nobody ranked below it was planned
    ranks = demo_conn.execute(text("SELECT arm, max(rank), count(*) FROM contact_plan WHERE business_date = :d "
                                   "GROUP BY arm"), {"d": demo_bank.as_of}).all()
    assert max(r[1] for r in ranks) == sum(r[2] for r in ranks)


def test_the_draw_is_reproducible_and_changes_with_the_day(demo_conn: Connection, demo_bank: DemoBank):
    settings = Settings()
    settings.operations = settings.operations.model_copy(update={"holdout_share": 0.3})
    first = _rebuild(demo_conn, settings, demo_bank.as_of, demo_bank.model_version)
    again = _rebuild(demo_conn, settings, demo_bank.as_of, demo_bank.model_version)
    assert first == again and "holdout" in first.values()
    strata = [f"s{i % 3}" for i in range(300)]
    today = draw_holdout(strata, 0.3, date(2026, 11, 1))
    assert np.array_equal(today, draw_holdout(strata, 0.3, date(2026, 11, 1)))
    assert not np.array_equal(today, draw_holdout(strata, 0.3, date(2026, 11, 2)))


def test_the_holdout_is_stratified_by_action_and_tier():
    strata = ["reminder|Medium"] * 97 + ["call|High"] * 41 + ["offer|Critical"] * 13 + ["call|Critical"] * 1
    for day in range(20):
        held = draw_holdout(strata, 0.1, date(2026, 11, 1) + timedelta(days=day))
        for name, n in Counter(strata).items():
            k = int(held[[s == name for s in strata]].sum())
            assert abs(k - 0.1 * n) < 1, (name, n, k)  # within one of the share in every stratum
    assert not draw_holdout(strata, 0.0, date(2026, 11, 1)).any()


def test_a_plan_is_made_once_a_day(demo_conn: Connection, demo_bank: DemoBank):
    before = _plan(demo_conn, demo_bank.as_of)
    settings = Settings()
    settings.operations = settings.operations.model_copy(update={"holdout_share": 0.4})
    summary = build_plan(demo_conn, settings, demo_bank.as_of, demo_bank.model_version, None)
    assert _plan(demo_conn, demo_bank.as_of) == before  # the re-run kept the day's draw
    assert summary.contacted + summary.held_out == len(before)


def test_customers_who_cannot_be_contacted_today_are_left_out(demo_conn: Connection, demo_bank: DemoBank):
    settings = Settings()
    plan = _rebuild(demo_conn, settings, demo_bank.as_of, demo_bank.model_version)
    ids = sorted(plan)[:5]
    officer = demo_conn.execute(text(
        "INSERT INTO users (username, role, password_hash) VALUES ('planner', 'officer', 'x') RETURNING user_id"
    )).scalar_one()
    # an open intervention, a contact in the cool-down, a snooze, a draw whose outcome window is still open,
    # and the contact policy's two contacts in 30 days (both outside the cool-down)
    demo_conn.execute(text(
        "INSERT INTO interventions (customer_id, intervention_type, channel, status, created_by, due_at, "
        "business_date) "
        "VALUES (:a, 'agent_call', 'phone', 'open', :u, now(), :d), "
        "       (:b, 'soft_reminder', 'sms', 'completed', :u, now(), CAST(:d AS date) - 3)"),
        {"a": ids[0], "b": ids[1], "u": officer, "d": demo_bank.as_of})
    demo_conn.execute(text(
        "INSERT INTO interventions (customer_id, intervention_type, channel, status, created_by, due_at, "
        "business_date) VALUES (:c, 'soft_reminder', 'sms', 'completed', :u, now(), CAST(:d AS date) - 10), "
        "(:c, 'agent_call', 'phone', 'completed', :u, now(), CAST(:d AS date) - 20)"),
        {"c": ids[4], "u": officer, "d": demo_bank.as_of})
    demo_conn.execute(text("INSERT INTO customer_snoozes (customer_id, until, reason, created_by) "
                           "VALUES (:c, CAST(:d AS date) + 5, 'on holiday', :u)"),
                      {"c": ids[2], "d": demo_bank.as_of, "u": officer})
    demo_conn.execute(text("UPDATE contact_plan SET business_date = CAST(:d AS date) - 10 WHERE customer_id = :c "
                           "AND business_date = :d"), {"c": ids[3], "d": demo_bank.as_of})
    after = _rebuild(demo_conn, settings, demo_bank.as_of, demo_bank.model_version)
    assert not set(ids) & set(after)
