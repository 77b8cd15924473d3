from datetime import date

import numpy as np
import polars as pl
import pytest
from hypothesis import given
from hypothesis import settings as settings_hp
from hypothesis import strategies as st

from predelinquency.errors import PdeError
from predelinquency.model.uplift.model import ActionEffect, UpliftModel, prior_model
from predelinquency.scoring.actions import NO_ACTION, action_benefits, best_actions, expected_loss, urgency
from predelinquency.scoring.decide import decide, exposure_and_due
from predelinquency.scoring.policy import apply_policy, tier_rank
from predelinquency.settings import ActionCost, PolicyRule, Settings

RULE = PolicyRule(name="two_failed_debits", description="x", feature="failed_debits_30d", op=">=", value=2,
                  min_tier="High")


def test_policy_lifts_tier_but_never_lowers_it():
    tiers = np.array(["Low", "Critical", "Medium", "Low"], dtype=object)
    feats = pl.DataFrame({"failed_debits_30d": [2.0, 3.0, 0.0, float("nan")]})
    final, fired = apply_policy(tiers, feats, [RULE])
    assert final.tolist() == ["High", "Critical", "Medium", "Low"]
    assert fired == [["two_failed_debits"], ["two_failed_debits"], [], []]


def old_config_rule(el: np.ndarray, actions: dict[str, ActionCost]) -> tuple[list[str], np.ndarray]:
    """The rule before learned effects, kept as the oracle: avoided loss × success rate − cost, best positive."""
    names = list(actions)
    benefit = np.stack([el * actions[a].success_rate - actions[a].cost for a in names], axis=1)
    best = benefit.argmax(axis=1)
    top = benefit[np.arange(len(el)), best]
    return [names[b] if v > 0 else NO_ACTION for b, v in zip(best, top, strict=True)], np.where(top > 0, top, 0.0)


def test_action_maximises_net_benefit_and_none_when_not_worth_it():
    settings = Settings()
    settings.actions = {"soft_reminder": ActionCost(success_rate=0.1, cost=2),
                        "agent_call": ActionCost(success_rate=0.3, cost=25),
                        "restructuring_offer": ActionCost(success_rate=0.55, cost=180)}
    pd, exposure = np.array([0.01, 0.2, 0.6, 0.9]), np.array([100.0, 1000.0, 5000.0, 20000.0])
    model = prior_model(settings)
    chosen, benefit, best = best_actions(action_benefits(model.uplift(pd, None), exposure, 0.5, model.costs()),
                                         model.actions)
    # 0.5 loss: nothing pays; 100: reminder (8) beats call (5); 1500: call 425 vs restructure 645
    assert chosen.tolist() == [NO_ACTION, "soft_reminder", "restructuring_offer", "restructuring_offer"]
    assert best.tolist() == [-1, 0, 2, 2]
    brute = [max([0.0] + [e * a.success_rate - a.cost for a in settings.actions.values()])
             for e in expected_loss(pd, exposure, 0.5)]
    np.testing.assert_allclose(benefit, brute)
    assert best_actions(np.zeros((3, 0)), [])[0].tolist() == [NO_ACTION] * 3


@settings_hp(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.floats(0, 1), st.floats(0, 1e5)), min_size=1, max_size=40))
def test_with_the_prior_alone_decide_is_the_old_config_rule(rows):
    """Regression: before any outcome is learned, the next-best action is exactly the configured rule's."""
    settings = Settings()
    settings.policy_rules = []  # no features here: the rules are tested above
    pd = np.array([r[0] for r in rows])
    exposure = np.array([r[1] for r in rows])
    ids = np.arange(1, len(rows) + 1)
    accounts = pl.DataFrame({"customer_id": ids, "product_type": ["personal_loan"] * len(ids),
                             "outstanding": exposure, "due_day": [15] * len(ids)})
    decided = decide(ids, pd, np.zeros((len(ids), 0)), np.zeros((len(ids), 0)), [], {}, accounts,
                     pl.DataFrame(), date(2026, 11, 1), settings, prior_model(settings))
    el = expected_loss(pd, exposure, settings.costs.lgd)
    action, benefit = old_config_rule(el, settings.actions)
    assert decided["recommended_action"].tolist() == action
    np.testing.assert_allclose(decided["expected_benefit"], benefit, rtol=1e-12, atol=1e-9)
    worth = np.array(action) != NO_ACTION
    rates = np.array([settings.actions[a].success_rate if w else np.nan for a, w in zip(action, worth, strict=True)])
    np.testing.assert_allclose(decided["uplift"][worth], (pd * rates)[worth], rtol=1e-12, atol=1e-15)
    assert np.isnan(decided["uplift"][~worth]).all()
    for got, w, p in zip(decided["action_uplift"], worth, pd, strict=True):
        if w:
            assert got == pytest.approx({a: p * c.success_rate for a, c in settings.actions.items()}, abs=1e-15)
        else:
            assert got is None


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


class ForgetsShift:
    """A learned effect: reminders lower the log-odds of missing by the customer's `forgets` feature."""

    def shift(self, X: np.ndarray) -> np.ndarray:
        return X[:, 0]


def test_a_learned_effect_reads_its_features_and_picks_the_action_per_customer():
    settings = Settings()
    settings.policy_rules = []
    effects = {"soft_reminder": ActionEffect(0.1, 2.0, weight=1.0, learned=ForgetsShift(), outcomes=500),
               "agent_call": ActionEffect(0.3, 25.0)}
    model = UpliftModel(effects, ["forgets"], version="u1")
    pd = np.array([0.12, 0.12, 0.6])
    ids = np.array([1, 2, 3])
    accounts = pl.DataFrame({"customer_id": ids, "product_type": ["personal_loan"] * 3,
                             "outstanding": [2000.0, 2000.0, 2000.0], "due_day": [15] * 3})
    features = {"forgets": np.array([3.0, 0.0, 0.0]), "unused": np.zeros(3)}
    decided = decide(ids, pd, np.zeros((3, 0)), np.zeros((3, 0)), [], features, accounts, pl.DataFrame(),
                     date(2026, 11, 1), settings, model)
    # the forgetful 12 % customer: a reminder removes most of the risk; for the others it was learned to do
    # nothing, and the call's configured 30 % (0.036 × 900 − 25 > 0) is the best left
    assert decided["recommended_action"].tolist() == ["soft_reminder", "agent_call", "agent_call"]
    after = 1 / (1 + np.exp(-(np.log(0.12 / 0.88) - 3.0)))
    assert decided["uplift"][0] == pytest.approx(0.12 - after)
    assert decided["action_uplift"][0] == pytest.approx({"soft_reminder": 0.12 - after, "agent_call": 0.036})
    assert decided["expected_benefit"][0] == pytest.approx((0.12 - after) * 900 - 2)
    with pytest.raises(PdeError, match=r"uplift model needs features .*forgets"):
        decide(ids, pd, np.zeros((3, 0)), np.zeros((3, 0)), [], {}, accounts, pl.DataFrame(), date(2026, 11, 1),
               settings, model)
