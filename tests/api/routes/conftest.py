"""Fixtures for the route tests: today's contact plan drawn by the nightly's own `build_plan` from real scores."""

from __future__ import annotations

import pytest

from predelinquency.operations.holdout import set_holdout_share
from predelinquency.scoring.plan import build_plan
from tests.api.plan_rows import TODAY, start_business_date
from tests.support.api import Api, insert_customer, insert_model, insert_score

PLANNED, SHARE = 10, 0.3  # ten customers to plan, three of them held out (randomised rounding: exactly 3)


@pytest.fixture
def planned(api: Api) -> dict[str, list[int]]:
    """Today's plan over ten scored customers: {'contact': [ids by rank], 'holdout': [ids by rank]}."""
    def seed(c):
        start_business_date(c)
        insert_model(c, "v1")
        for i in range(PLANNED):
            insert_score(c, insert_customer(c), as_of=TODAY, pd=0.2 + i / 100, benefit=300.0 - i)
        set_holdout_share(c, api.users["manager"], SHARE, api.settings)
        build_plan(c, api.settings, TODAY, "v1", None)
    api.write(seed)
    rows = api.sql("SELECT arm, customer_id FROM contact_plan WHERE business_date = :d ORDER BY rank", d=TODAY)
    arms: dict[str, list[int]] = {"contact": [], "holdout": []}
    for arm, customer_id in rows:
        arms[arm].append(customer_id)
    assert len(arms["holdout"]) == 3 and len(arms["contact"]) == 7
    return arms
