"""Fixtures for the route tests: today's contact plan drawn by the nightly's own `build_plan` from real scores."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import text

from predelinquency.model.uplift.model import prior_model
from predelinquency.operations.holdout import set_holdout_share
from predelinquency.scoring.plan import build_plan
from tests.api.plan_rows import TODAY, start_business_date
from tests.support.api import Api, insert_customer, insert_model, insert_score

PLANNED, SHARE = 10, 0.3  # ten customers to plan, three of them held out (one permuted block of 10: exactly 3)
# each customer's expected fall in P(miss) per action, as the nightly stores it: the call is worth the most
UPLIFT = {"soft_reminder": 0.01, "agent_call": 0.2, "restructuring_offer": 0.05}


@pytest.fixture
def planned(api: Api) -> dict[str, list[int]]:
    """Today's plan over ten scored customers: {'contact': [ids by rank], 'holdout': [ids by rank]}."""
    def seed(c):
        start_business_date(c)
        insert_model(c, "v1")
        for i in range(PLANNED):
            customer = insert_customer(c)
            insert_score(c, customer, as_of=TODAY, pd=0.25 + i / 100, benefit=300.0 - i)
            c.execute(text("UPDATE risk_scores SET uplift = :u, action_uplift = CAST(:au AS jsonb) "
                           "WHERE customer_id = :c AND as_of = :d"),
                      {"u": UPLIFT["agent_call"], "au": json.dumps(UPLIFT), "c": customer, "d": TODAY})
        set_holdout_share(c, api.users["manager"], SHARE, api.settings)
        # no exploration here: every customer in the one stratum agent_call|High, so the block holds out 3 of 10
        settings = api.settings.model_copy(deep=True)
        settings.operations = settings.operations.model_copy(update={"exploration_share": 0.0})
        build_plan(c, settings, TODAY, "v1", None, prior_model(settings))
    api.write(seed)
    rows = api.sql("SELECT arm, customer_id FROM contact_plan WHERE business_date = :d ORDER BY rank", d=TODAY)
    arms: dict[str, list[int]] = {"contact": [], "holdout": []}
    for arm, customer_id in rows:
        arms[arm].append(customer_id)
    assert len(arms["holdout"]) == 3 and len(arms["contact"]) == 7
    return arms
