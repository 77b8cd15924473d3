from datetime import date

import numpy as np
import polars as pl

from predelinquency.scoring.actions import NO_ACTION, expected_loss, recommend_actions, urgency
from predelinquency.scoring.decide import exposure_and_due
from predelinquency.scoring.policy import apply_policy, tier_rank
from predelinquency.settings import ActionCost, PolicyRule

RULE = PolicyRule(name="two_failed_debits", description="x", feature="failed_debits_30d", op=">=", value=2,
                  min_tier="High")


def test_policy_lifts_tier_but_never_lowers_it():
    tiers = np.array(["Low", "Critical", "Medium", "Low"], dtype=object)
    feats = pl.DataFrame({"failed_debits_30d": [2.0, 3.0, 0.0, float("nan")]})
    final, fired = apply_policy(tiers, feats, [RULE])
    assert final.tolist() == ["High", "Critical", "Medium", "Low"]
    assert fired == [["two_failed_debits"], ["two_failed_debits"], [], []]


def test_action_maximises_net_benefit_and_none_when_not_worth_it():
    actions = {"soft_reminder": ActionCost(success_rate=0.1, cost=2),
               "agent_call": ActionCost(success_rate=0.3, cost=25),
               "restructuring_offer": ActionCost(success_rate=0.55, cost=180)}
    el = expected_loss(np.array([0.01, 0.2, 0.6, 0.9]), np.array([100.0, 1000.0, 5000.0, 20000.0]), 0.5)
    chosen, benefit = recommend_actions(el, actions)
    # 0.5 loss: nothing pays; 100: reminder (8) beats call (5); 1500: call 425 vs restructure 645
    assert chosen.tolist() == [NO_ACTION, "soft_reminder", "restructuring_offer", "restructuring_offer"]
    brute = [max([0.0] + [e * a.success_rate - a.cost for a in actions.values()]) for e in el]
    np.testing.assert_allclose(benefit, brute)


def test_urgency_tiers():
    tier = np.array(["Critical", "High", "High", "Medium", "Low", "High"], dtype=object)
    pd = np.array([0.5, 0.2, 0.2, 0.12, 0.01, 0.2])
    prev_pd = np.array([0.5, 0.19, 0.1, 0.03, np.nan, 0.2])
    prev_tier = np.array(["Critical", "High", "Medium", "Low", None, "High"], dtype=object)
    due_soon = np.array([False, True, False, False, False, False])
    action = np.array(["agent_call"] * 5 + [NO_ACTION], dtype=object)
    assert urgency(tier, pd, prev_pd, prev_tier, due_soon, action).tolist() == [1, 1, 2, 2, 4, 4]


def test_tier_rank_orders_the_tiers_and_marks_anything_else():
    names = np.array(["Low", "Critical", "High", "Medium", "None", "low", ""], dtype=object)
    assert tier_rank(names).tolist() == [0, 3, 2, 1, -1, -1, -1]
    assert tier_rank(np.array(["High", "Low"])).tolist() == [2, 0]  # a numpy string array as well


def test_exposure_sums_credit_products_and_due_soon_wraps_the_month():
    accounts = pl.DataFrame({
        "customer_id": [7, 7, 7, 3, 9],
        "product_type": ["current", "credit_card", "personal_loan", "personal_loan", "credit_card"],
        "outstanding": [5000.0, 1200.0, None, 800.0, 50.0],
        "due_day": [None, 28, 2, 20, 1],
    })
    # Jan 27: customer 7's card is due tomorrow, customer 3's loan in 24 days; 9 is not asked for
    exposure, due_soon = exposure_and_due(accounts, np.array([3, 7, 5]), date(2026, 1, 27))
    assert exposure.tolist() == [800.0, 1200.0, 0.0]  # the current account is not credit; unknown outstanding is 0
    assert due_soon.tolist() == [False, True, False]
    # Jan 30: the loan due on the 2nd is 3 days away across the month end
    _, due_soon = exposure_and_due(accounts.filter(pl.col("product_type") == "personal_loan"),
                                   np.array([7, 3]), date(2026, 1, 30))
    assert due_soon.tolist() == [True, False]
