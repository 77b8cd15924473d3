from datetime import date

import pytest

from predelinquency.operations.assignments import assign_customer
from predelinquency.operations.interventions import create_intervention
from tests.support.api import Api, insert_customer, insert_model, insert_score

OLD, NEW = date(2026, 10, 31), date(2026, 11, 1)


@pytest.fixture
def scored(api: Api) -> dict[str, int]:
    """Four customers scored by the champion v2 on two days, one also by the challenger v1 on the newest day."""
    def seed(c):
        insert_model(c, "v1", "challenger")
        insert_model(c, "v2", "champion")
        ids = {name: insert_customer(c) for name in ("low", "medium", "high", "critical")}
        for name, pd, tier, prev in (("low", 0.01, "Low", "Low"), ("medium", 0.08, "Medium", "Low"),
                                     ("high", 0.2, "High", "High"), ("critical", 0.5, "Critical", "High")):
            insert_score(c, ids[name], as_of=OLD, version="v2", pd=pd / 2, tier=prev)
            insert_score(c, ids[name], as_of=NEW, version="v2", pd=pd, tier=tier, prev_tier=prev,
                         model_tier="Medium" if name == "high" else tier,
                         action="none" if name == "low" else "agent_call")
        insert_score(c, ids["critical"], as_of=NEW, version="v1", pd=0.99, tier="Critical")
        insert_score(c, ids["low"], as_of=date(2026, 11, 2), version="v1", pd=0.99, tier="Critical")
        assign_customer(c, api.users["officer"], ids["high"], "officer1")
        create_intervention(c, api.users["officer"], ids["critical"], "agent_call", "phone", api.settings)
        return ids
    return api.write(seed)


def test_stats_aggregate_the_champions_latest_scores(api: Api, scored: dict[str, int]):
    r = api.client.get("/stats", headers=api.auth())
    assert r.status_code == 200, r.text
    s = r.json()
    assert s["as_of"] == "2026-11-01" and s["model_version"] == "v2" and s["customers_scored"] == 4
    assert s["tiers"] == {"Low": 1, "Medium": 1, "High": 1, "Critical": 1}
    assert s["average_pd"] == pytest.approx((0.01 + 0.08 + 0.2 + 0.5) / 4)
    assert s["total_exposure"] == 4000 and s["expected_loss"] == pytest.approx(0.79 * 1000 * 0.45)
    assert s["expected_benefit"] == 450 and s["recommended_actions"] == {"none": 1, "agent_call": 3}
    assert s["policy_overrides"] == 1 and s["tier_worsened"] == 2
    assert s["open_interventions"] == 1 and s["overdue_interventions"] == 0 and s["assigned_customers"] == 1


def test_stats_before_any_scores_are_zeros(api: Api):
    s = api.client.get("/stats", headers=api.auth()).json()
    assert s["as_of"] is None and s["customers_scored"] == 0 and s["tiers"]["Critical"] == 0
    assert s["average_pd"] is None and s["recommended_actions"] == {}


def test_history_is_oldest_first_and_prefers_the_champion(api: Api, scored: dict[str, int]):
    r = api.client.get(f"/customers/{scored['critical']}/history", headers=api.auth())
    assert r.status_code == 200
    points = r.json()["scores"]
    assert [(p["as_of"], p["model_version"], p["pd"]) for p in points] == [
        ("2026-10-31", "v2", 0.25), ("2026-11-01", "v2", 0.5)]
    assert points[1]["reasons"][0]["code"] == "FAILED_DEBITS_30D" and points[1]["policy_rules"] == []
    newest = api.client.get(f"/customers/{scored['critical']}/history?limit=1", headers=api.auth()).json()
    assert [p["as_of"] for p in newest["scores"]] == ["2026-11-01"]


def test_history_of_an_unknown_customer_is_404(api: Api):
    r = api.client.get("/customers/424242/history", headers=api.auth())
    assert r.status_code == 404 and r.json() == {"detail": "customer 424242 does not exist"}


def test_high_risk_customers_by_pd_with_owner(api: Api, scored: dict[str, int]):
    body = api.client.get("/high-risk-customers", headers=api.auth()).json()
    assert body["as_of"] == "2026-11-01" and body["tiers"] == ["High", "Critical"] and body["count"] == 2
    assert [(c["customer_id"], c["tier"], c["assigned_officer"]) for c in body["customers"]] == [
        (scored["critical"], "Critical", None), (scored["high"], "High", "officer1")]
    medium = api.client.get("/high-risk-customers?tier=Medium&limit=5", headers=api.auth()).json()
    assert [c["customer_id"] for c in medium["customers"]] == [scored["medium"]]
    one = api.client.get("/high-risk-customers?limit=1", headers=api.auth()).json()
    assert one["count"] == 1 and one["customers"][0]["customer_id"] == scored["critical"]


@pytest.mark.parametrize(("query", "field", "words"), [
    ("limit=0", "limit", "greater than or equal to 1"),
    ("limit=1001", "limit", "less than or equal to 1000"),
    ("limit=ten", "limit", "valid integer"),
    ("tier=Severe", "tier", "'Low', 'Medium', 'High' or 'Critical'"),
])
def test_high_risk_query_is_validated_field_by_field(api: Api, query: str, field: str, words: str):
    r = api.client.get(f"/high-risk-customers?{query}", headers=api.auth())
    assert r.status_code == 422
    body = r.json()
    assert body["detail"][0]["loc"] == ["query", field] and words in body["detail"][0]["msg"]
    assert body["message"].startswith(f"{field}: ")
