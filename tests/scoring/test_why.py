"""'Why this action' in plain words (scoring/why.py)."""

from __future__ import annotations

from predelinquency.model.uplift.model import ActionEffect, UpliftModel, prior_model
from predelinquency.scoring.why import NOTHING_WORTH_IT, estimate_sources, money, percents, why, why_rows
from predelinquency.settings import Settings


class Shift:
    def shift(self, X):
        return X[:, 0]


def test_the_sentence_names_the_fall_the_worth_the_cost_and_the_source():
    text = why("soft_reminder", 0.14, 0.05, 40.0, 2.0, "learned from 1,240 outcomes")
    assert text == ("A reminder is expected to lower this customer's chance of missing from 14 % to 9 %, worth €40 "
                    "against a €2 cost. Estimate: learned from 1,240 outcomes.")
    explored = why("agent_call", 0.3, 0.09, 121.5, 25.0, "the configured rate: no outcomes yet", explored=True)
    assert explored.startswith("A call from an agent is expected to lower this customer's chance of missing from "
                               "30 % to 21 %, worth €122 against a €25 cost.")
    assert explored.endswith("Estimate: the configured rate: no outcomes yet. Chosen at random to learn what works.")
    assert why("none", 0.5, None, 0.0, 0.0, "x") == NOTHING_WORTH_IT
    assert why("agent_call", 0.5, None, 0.0, 25.0, "x") is None  # a row stored before effects were
    assert why("payment_holiday_plus", 0.2, 0.1, 10, 3, "x").startswith("A payment holiday plus is expected")


def test_numbers_show_the_fall_and_money_drops_cents_when_whole():
    assert percents(0.14, 0.09) == ("14 %", "9 %")
    assert percents(0.012, 0.0108) == ("1.2 %", "1.1 %")  # whole percents would read "1 % to 1 %"
    assert (money(40), money(2.5), money(1240.4), money(-3)) == ("€40", "€2.50", "€1,240", "-€3")


def test_the_source_is_the_outcomes_learned_from_or_the_prior():
    settings = Settings()
    assert set(estimate_sources(prior_model(settings)).values()) == {"the configured rate: no outcomes yet"}
    model = UpliftModel({"soft_reminder": ActionEffect(0.1, 2.0, weight=0.7, learned=Shift(), outcomes=1240),
                         "agent_call": ActionEffect(0.3, 25.0)}, ["x"], version="u1")
    assert estimate_sources(model) == {"soft_reminder": "learned from 1,240 outcomes",
                                       "agent_call": "the configured rate: no outcomes yet"}
    row = {"recommended_action": "soft_reminder", "pd": 0.2, "uplift": 0.05, "exposure": 1000.0, "action_cost": 2.0,
           "assignment": "explore"}
    text = why_rows([row], estimate_sources(model), 0.45)[0]
    assert "from 20 % to 15 %, worth €22.50 against a €2 cost. Estimate: learned from 1,240 outcomes." in text
    assert text.endswith("Chosen at random to learn what works.")
