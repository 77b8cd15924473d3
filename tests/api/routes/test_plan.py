from datetime import date

import pytest

from predelinquency.operations.interventions import create_intervention, update_intervention_status
from tests.api.plan_rows import TODAY, start_business_date
from tests.support.api import Api


def test_officers_see_only_the_contact_arm_ranked_among_themselves(api: Api, planned: dict[str, list[int]]):
    r = api.client.get("/plan", headers=api.auth("officer"))
    assert r.status_code == 200, r.text
    plan = r.json()
    assert plan["business_date"] == TODAY.isoformat() and plan["count"] == 7
    assert [c["customer_id"] for c in plan["customers"]] == planned["contact"]
    assert not set(planned["holdout"]) & {c["customer_id"] for c in plan["customers"]}
    # ranks without gaps: a gap would point at a held-out customer
    assert [c["rank"] for c in plan["customers"]] == list(range(1, 8))
    first = plan["customers"][0]
    assert first["recommended_action"] == "agent_call" and first["tier"] == "High" and first["channel"] == "phone"
    assert first["pd"] >= 0.2 and first["expected_benefit"] == pytest.approx(0.2 * 1000 * 0.45 - 25)
    assert first["uplift"] == 0.2 and first["action_cost"] == 25 and first["assignment"] == "policy"
    assert first["uplift_version"] is None
    assert first["why"] == ("A call from an agent is expected to lower this customer's chance of missing from "
                            f"{first['pd'] * 100:.0f} % to {(first['pd'] - 0.2) * 100:.0f} %, worth €90 against a "
                            "€25 cost. Estimate: the configured rate: no outcomes yet.")
    assert not any(c["intervened_today"] for c in plan["customers"])
    # managers and admins see the same plan: the control group is looked at through GET /holdout only
    assert api.client.get("/plan", headers=api.auth("admin")).json() == plan


def test_the_plan_says_which_customers_were_already_contacted_today(api: Api, planned: dict[str, list[int]]):
    first, second = planned["contact"][:2]
    assert api.client.post("/interventions", headers=api.auth(), json={
        "customer_id": first, "intervention_type": "agent_call", "channel": "phone"}).status_code == 201
    officer = api.users["officer"]
    cancelled = api.write(lambda c: create_intervention(c, officer, second, "agent_call", "phone", api.settings))
    api.write(lambda c: update_intervention_status(c, officer, cancelled["intervention_id"], "cancelled", 1))
    done = {c["customer_id"]: c["intervened_today"] for c in api.client.get("/plan", headers=api.auth()).json()[
        "customers"]}
    assert done[first] is True and done[second] is False
    assert sum(done.values()) == 1


def test_before_the_nightly_plans_the_day_the_plan_is_empty(api: Api):
    api.write(lambda c: start_business_date(c, date(2026, 11, 5)))
    assert api.client.get("/plan", headers=api.auth()).json() == {
        "business_date": "2026-11-05", "count": 0, "customers": []}


def test_the_plan_is_for_the_business_date_only(api: Api, planned: dict[str, list[int]]):
    api.write(lambda c: start_business_date(c, date(2026, 11, 2)))
    plan = api.client.get("/plan", headers=api.auth()).json()
    assert plan["business_date"] == "2026-11-02" and plan["count"] == 0


def test_the_plan_needs_a_key(api: Api):
    assert api.client.get("/plan").status_code == 401
