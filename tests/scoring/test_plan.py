"""Today's contact plan and its randomised control group, drawn by the nightly (scoring/plan.py)."""

from __future__ import annotations

from collections import Counter
from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import Connection, text

from predelinquency.model.uplift.model import prior_model
from predelinquency.scoring.plan import build_plan, existing_plan, policy_version, todays_contacts
from predelinquency.settings import Settings
from tests.support.bank import DemoBank


def _plan(conn: Connection, day: date) -> dict[int, str]:
    return dict(conn.execute(text("SELECT customer_id, arm FROM contact_plan WHERE business_date = :d"),
                             {"d": day}).all())


def _rows(conn: Connection, day: date) -> list[dict[str, Any]]:
    return [dict(r) for r in conn.execute(text(
        "SELECT p.*, rs.recommended_action AS best, rs.expected_benefit AS best_benefit, rs.urgency "
        "FROM contact_plan p JOIN risk_scores rs ON rs.customer_id = p.customer_id AND rs.as_of = p.business_date "
        "AND rs.model_version = p.model_version WHERE p.business_date = :d ORDER BY p.rank"), {"d": day}).mappings()]


def _settings(**operations: Any) -> Settings:
    settings = Settings()
    settings.operations = settings.operations.model_copy(update=operations)
    return settings


def _rebuild(conn: Connection, settings: Settings, day: date, version: str) -> dict[int, str]:
    conn.execute(text("DELETE FROM contact_plan WHERE business_date = :d"), {"d": day})
    build_plan(conn, settings, day, version, None, prior_model(settings))
    return _plan(conn, day)


def test_the_nightly_draws_todays_plan_by_expected_benefit(demo_conn: Connection, demo_bank: DemoBank):
    rows = _rows(demo_conn, demo_bank.as_of)
    summary = existing_plan(demo_conn, demo_bank.as_of)
    assert rows and summary is not None
    assert summary.contacted == sum(r["arm"] == "contact" for r in rows) == Settings().operations.daily_contact_capacity
    assert summary.policy_version == policy_version(Settings()) and summary.policy_version.startswith("config-rates-")
    # every planned customer has an action worth its cost; the plan ranks by it, whatever the urgency
    assert all(r["best"] != "none" and r["best_benefit"] > 0 for r in rows)
    assert [r["best_benefit"] for r in rows] == sorted((r["best_benefit"] for r in rows), reverse=True)
    assert {r["urgency"] for r in rows} - {1, 2, 3}, "the plan reaches beyond the urgent queue"
    channels = Settings().operations.action_channels
    for r in rows:
        assert r["channel"] == channels[r["recommended_action"]][0]
        assert r["uplift_version"] is None and r["uplift"] > 0 and r["action_cost"] > 0
        if r["assignment"] == "policy":  # no channel is capped: the policy row takes the best action
            assert r["recommended_action"] == r["best"] and r["expected_benefit"] == pytest.approx(r["best_benefit"])
    assert any(r["assignment"] == "explore" for r in rows)
    # the nightly for the current business date moved the business date to it
    assert demo_conn.execute(text("SELECT pde_business_date()")).scalar_one() == demo_bank.as_of
    # a backfill draws no plan
    assert not _plan(demo_conn, demo_bank.as_ofs[0])


def test_capacity_counts_only_the_contacted(demo_conn: Connection, demo_bank: DemoBank):
    settings = _settings(daily_contact_capacity=40, holdout_share=0.25)
    plan = _rebuild(demo_conn, settings, demo_bank.as_of, demo_bank.model_version)
    arms = Counter(plan.values())
    assert arms["contact"] == 40
    # permuted blocks of 4 per stratum: a quarter of each whole block, at most one partial block per stratum
    strata = Counter(f"{r['recommended_action']}|{r['tier']}" for r in _rows(demo_conn, demo_bank.as_of))
    assert sum(n // 4 for n in strata.values()) <= arms["holdout"] <= sum(-(-n // 4) for n in strata.values())
    # the walk ends at the 40th contacted: the last row is contacted, the ranks are whole
    rows = _rows(demo_conn, demo_bank.as_of)
    assert rows[-1]["arm"] == "contact" and [r["rank"] for r in rows] == list(range(1, len(rows) + 1))


def test_a_full_channel_moves_customers_to_the_next_best_action_with_room(demo_conn: Connection,
                                                                           demo_bank: DemoBank):
    caps = {"sms": 6, "phone": 3}
    settings = _settings(daily_contact_capacity=30, holdout_share=0.1, exploration_share=0.0, channel_capacity=caps)
    _rebuild(demo_conn, settings, demo_bank.as_of, demo_bank.model_version)
    rows = _rows(demo_conn, demo_bank.as_of)
    contacted = Counter(r["channel"] for r in rows if r["arm"] == "contact")
    # soft reminders by sms, calls and offers by phone: only 9 contacts fit, whatever the population
    assert contacted == {"sms": 6, "phone": 3}
    used: Counter = Counter()
    for r in rows:
        if r["recommended_action"] != r["best"]:
            best_channel = settings.operations.action_channels[r["best"]][0]
            assert used[best_channel] == caps[best_channel], "moved off a channel that still had room"
            assert r["expected_benefit"] > 0 and r["assignment"] == "policy"
        if r["arm"] == "contact":
            used[r["channel"]] += 1
    assert any(r["recommended_action"] != r["best"] for r in rows)


def test_the_draw_is_reproducible_and_changes_with_the_day(demo_conn: Connection, demo_bank: DemoBank):
    settings = _settings(holdout_share=0.3, exploration_share=0.3)
    first = _rebuild(demo_conn, settings, demo_bank.as_of, demo_bank.model_version)
    rows = _rows(demo_conn, demo_bank.as_of)
    again = _rebuild(demo_conn, settings, demo_bank.as_of, demo_bank.model_version)
    assert first == again and "holdout" in first.values()
    assert [(r["recommended_action"], r["assignment"]) for r in rows] == [
        (r["recommended_action"], r["assignment"]) for r in _rows(demo_conn, demo_bank.as_of)]
    # the same scores on another business date: another draw
    demo_conn.execute(text("UPDATE risk_scores SET as_of = as_of + 1 WHERE as_of = :d"), {"d": demo_bank.as_of})
    other = _rebuild(demo_conn, settings, demo_bank.as_of + timedelta(days=1), demo_bank.model_version)
    assert other != first


def test_a_plan_is_made_once_a_day(demo_conn: Connection, demo_bank: DemoBank):
    before = _rows(demo_conn, demo_bank.as_of)
    settings = _settings(holdout_share=0.4, exploration_share=0.9)
    summary = build_plan(demo_conn, settings, demo_bank.as_of, demo_bank.model_version, None, prior_model(settings))
    assert _rows(demo_conn, demo_bank.as_of) == before  # the re-run kept the day's draw
    assert summary.contacted + summary.held_out == len(before)
    assert summary.explored == sum(r["assignment"] == "explore" for r in before)


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
    # one contact 20 days ago is under the policy's two: that customer may be planned again
    demo_conn.execute(text("DELETE FROM interventions WHERE customer_id = :c "
                           "AND business_date = CAST(:d AS date) - 10"), {"c": ids[4], "d": demo_bank.as_of})
    assert ids[4] in _rebuild(demo_conn, settings, demo_bank.as_of, demo_bank.model_version)


def test_todays_contacts_say_why_in_plain_words(demo_conn: Connection, demo_bank: DemoBank):
    settings = Settings()
    rows = todays_contacts(demo_conn, demo_bank.as_of, prior_model(settings), settings.costs.lgd)
    assert rows and [r["rank"] for r in rows] == list(range(1, len(rows) + 1))
    for r in rows:
        assert "expected to lower this customer's chance of missing from" in r["why"]
        assert "the configured rate: no outcomes yet" in r["why"]
        assert ("Chosen at random to learn what works." in r["why"]) == (r["assignment"] == "explore")


def test_the_simulated_team_contacts_through_the_plan_rows_channel(demo_conn: Connection, demo_bank: DemoBank):
    from predelinquency.loop.advance import simulated_team, work_todays_plan

    settings = Settings()
    first = demo_conn.execute(text(
        "SELECT customer_id FROM contact_plan WHERE business_date = :d AND arm = 'contact' "
        "AND recommended_action = 'soft_reminder' ORDER BY rank LIMIT 1"), {"d": demo_bank.as_of}).scalar_one()
    # a plan row made through the action's second channel (its first one full, say)
    demo_conn.execute(text("UPDATE contact_plan SET channel = 'email' WHERE business_date = :d AND customer_id = :c"),
                      {"d": demo_bank.as_of, "c": first})
    made = work_todays_plan(demo_conn, simulated_team(demo_conn), settings, demo_bank.as_of)
    got = dict(demo_conn.execute(text(
        "SELECT i.customer_id, i.channel = p.channel AND i.intervention_type = p.recommended_action "
        "FROM interventions i JOIN contact_plan p ON p.customer_id = i.customer_id "
        "AND p.business_date = i.business_date WHERE i.intervention_id = ANY(:ids)"),
        {"ids": list(made.values())}).all())
    assert got and all(got.values()) and first in got
