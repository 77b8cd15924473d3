"""What contacts really prevent, measured against the control group (loop/effects.py)."""

from __future__ import annotations

import math
from datetime import date, timedelta

import numpy as np
import pytest
from sqlalchemy import Connection, text

from predelinquency.loop.effects import Arm, measure_effects, newcombe, outcomes_needed, summarise, wilson
from predelinquency.settings import Settings
from tests.support.operations import insert_customer

DAY = date(2026, 9, 1)


def test_newcombe_matches_the_published_example():
    # Newcombe (1998), Statistics in Medicine 17:873, table II, example (a): 56/70 vs 48/80, method 10
    lo, hi = newcombe(56, 70, 48, 80)
    assert (round(lo, 4), round(hi, 4)) == (0.0524, 0.3339)
    # Wilson interval of 0/10 (same paper, table I): 0 to 0.2775
    assert tuple(round(x, 4) for x in wilson(0, 10)) == (0.0, 0.2775)


def test_the_interval_covers_the_true_difference_about_95_percent_of_the_time():
    rng = np.random.default_rng(1)
    covered = 0
    for _ in range(2000):
        k1, k2 = rng.binomial(60, 0.12), rng.binomial(600, 0.07)
        lo, hi = newcombe(int(k1), 60, int(k2), 600)
        covered += lo <= 0.05 <= hi
    assert 0.93 <= covered / 2000 <= 0.975


def test_summary_of_a_hand_built_case():
    contacted = Arm(n=400, missed=20, at_stake=400 * 900.0, cost=400 * 25.0)
    holdout = Arm(n=100, missed=10)
    s = summarise(contacted, holdout)
    assert s["miss_rate_contacted"] == 0.05 and s["miss_rate_holdout"] == 0.10
    assert s["uplift"] == pytest.approx(0.05)
    assert s["prevented_defaults"] == pytest.approx(20.0)
    assert s["prevented_loss"] == pytest.approx(0.05 * 400 * 900)
    assert s["roi"] == pytest.approx((0.05 * 400 * 900 - 10_000) / 10_000)
    lo, hi = newcombe(10, 100, 20, 400)
    assert (s["ci_low"], s["ci_high"]) == (lo, hi)
    assert s["prevented_defaults_ci"] == [lo * 400, hi * 400]
    # ± 6 points with a hundred held out: too wide to act on, and it says how many more outcomes would do
    assert not s["enough_data"] and s["outcomes_needed"] > 0
    needed = outcomes_needed(holdout, contacted)
    more = 500 + needed
    big = summarise(Arm(n=round(more * 0.8), missed=round(more * 0.8 * 0.05), at_stake=1.0, cost=1.0),
                    Arm(n=round(more * 0.2), missed=round(more * 0.2 * 0.10)))
    assert big["ci_high"] - big["ci_low"] == pytest.approx(2 * 0.03, abs=0.006)


def test_nothing_to_compare_says_so():
    s = summarise(Arm(n=12, missed=1), Arm())
    assert s["uplift"] is None and not s["enough_data"] and s["outcomes_needed"] > 0


def _unit(conn: Connection, customer: int, arm: str, outcome: str, action: str = "agent_call", tier: str = "High",
          day: date = DAY, released: bool = False) -> None:
    conn.execute(text(
        "INSERT INTO contact_plan (business_date, customer_id, arm, rank, recommended_action, tier, pd, exposure, "
        "expected_benefit, model_version, policy_version, payment_outcome, settled_on, released_at, released_by) "
        "VALUES (:d, :c, :arm, 1, :a, :t, 0.2, 2000, 10, 'v', 'p', :o, CAST(:d AS date) + 40, "
        "CASE WHEN :rel THEN now() END, CASE WHEN :rel THEN 'maria' END)"),
        {"d": day, "c": customer, "arm": arm, "a": action, "t": tier, "o": outcome, "rel": released})


def test_measured_from_settled_plan_rows(conn: Connection):
    # agent calls: 30 contacted (3 missed), 10 held out (4 missed); reminders: 20 contacted (2), 5 held out (0)
    for arm, n, k, action in (("contact", 30, 3, "agent_call"), ("holdout", 10, 4, "agent_call"),
                              ("contact", 20, 2, "soft_reminder"), ("holdout", 5, 0, "soft_reminder")):
        for i in range(n):
            _unit(conn, insert_customer(conn), arm, "missed" if i < k else ("late" if i % 2 else "paid"), action)
    # left out: released from the holdout, no instalment due, not yet settled
    _unit(conn, insert_customer(conn), "holdout", "missed", released=True)
    _unit(conn, insert_customer(conn), "contact", "no_instalment")
    conn.execute(text("INSERT INTO contact_plan (business_date, customer_id, arm, rank, recommended_action, tier, pd, "
                      "exposure, expected_benefit, model_version, policy_version) VALUES (:d, :c, 'contact', 1, "
                      "'agent_call', 'High', 0.2, 1, 1, 'v', 'p')"), {"d": DAY + timedelta(days=1),
                                                                       "c": insert_customer(conn)})
    r = measure_effects(conn, Settings())
    o = r["overall"]
    assert (o["contacted"], o["holdout"], o["missed_contacted"], o["missed_holdout"]) == (50, 15, 5, 4)
    assert o["uplift"] == pytest.approx(4 / 15 - 5 / 50)
    calls = next(g for g in r["by_action"] if g["action"] == "agent_call")
    assert calls["uplift"] == pytest.approx(0.4 - 0.1)
    assert calls["contact_cost"] == pytest.approx(30 * Settings().actions["agent_call"].cost)
    assert calls["prevented_loss"] == pytest.approx(0.3 * 30 * 2000 * Settings().costs.lgd)
    assert r["not_measured"]["released_from_holdout"] == 1 and r["not_measured"]["no_instalment_due"] == 1
    assert r["not_measured"]["awaiting_outcome"] == 1
    assert not r["synthetic"] and "true_uplift" not in o
    assert [w["week"] for w in r["weekly"]] == [date(2026, 8, 31)]
    assert math.isclose(sum(g["contacted"] for g in r["by_tier"]), 50)
    # the window filter: nothing before the first plan
    assert measure_effects(conn, Settings(), since=DAY + timedelta(days=1))["overall"]["contacted"] == 0
