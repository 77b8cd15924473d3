import json
from datetime import date

import pytest

from predelinquency.loop.effects import measure_effects
from tests.api.plan_rows import TODAY, insert_plan_row, start_business_date
from tests.support.api import Api, insert_customer

EARLY, LATE = date(2026, 9, 1), date(2026, 9, 15)


@pytest.fixture
def settled(api: Api) -> None:
    """Two plans, settled: agent calls on EARLY (40 contacted, 6 missed; 20 held out, 8 missed), reminders on
    LATE (20 contacted, 4 missed; 10 held out, 3 missed); one held-out customer released; one awaiting."""
    def seed(c):
        start_business_date(c)
        rank = 0
        for day, action, arm, n, missed in ((EARLY, "agent_call", "contact", 40, 6),
                                            (EARLY, "agent_call", "holdout", 20, 8),
                                            (LATE, "soft_reminder", "contact", 20, 4),
                                            (LATE, "soft_reminder", "holdout", 10, 3)):
            for i in range(n):
                rank += 1
                insert_plan_row(c, insert_customer(c), arm, rank, day=day, action=action,
                                tier="Critical" if i % 2 else "High",
                                payment_outcome="missed" if i < missed else ("late" if i % 5 == 0 else "paid"))
        insert_plan_row(c, insert_customer(c), "contact", 1, day=TODAY)
        insert_plan_row(c, insert_customer(c), "holdout", 2, day=LATE, payment_outcome="no_instalment")
    api.write(seed)


def test_effects_are_the_measurement_any_role_may_read(api: Api, settled: None):
    r = api.client.get("/effects", headers=api.auth("officer"))
    assert r.status_code == 200, r.text
    body = r.json()
    with api.engine.connect() as c:
        direct = json.loads(json.dumps(measure_effects(c, api.settings), default=str))
    # off a synthetic bank there is no true uplift: the response says null where the measurement leaves it out
    no_truth = {"true_uplift": None, "true_uplift_expected": None, "true_units": None}
    groups = ("by_action", "by_tier", "by_action_tier", "weekly")
    assert body == {**direct, "overall": {**no_truth, **direct["overall"]},
                    **{k: [{**no_truth, **g} for g in direct[k]] for k in groups}}
    overall = body["overall"]
    assert (overall["contacted"], overall["holdout"]) == (60, 30)
    assert overall["uplift"] == pytest.approx(11 / 30 - 10 / 60)
    assert overall["ci_low"] < overall["uplift"] < overall["ci_high"]
    assert overall["prevented_defaults"] == pytest.approx(overall["uplift"] * 60)
    assert body["synthetic"] is False and overall["true_uplift"] is None
    calls, reminders = body["by_action"]
    assert (calls["action"], calls["contacted"], calls["missed_holdout"]) == ("agent_call", 40, 8)
    assert reminders["miss_rate_contacted"] == pytest.approx(0.2)
    assert [t["tier"] for t in body["by_tier"]] == ["Critical", "High"]
    assert [w["week"] for w in body["weekly"]] == ["2026-08-31", "2026-09-14"]
    assert body["not_measured"] == {"awaiting_outcome": 1, "released_from_holdout": 0, "no_instalment_due": 1,
                                    "contacts_outside_plan": 0}
    assert api.client.get("/effects", headers=api.auth("manager")).json() == body


def test_effects_over_a_period(api: Api, settled: None):
    late = api.client.get("/effects?since=2026-09-10", headers=api.auth()).json()
    assert [a["action"] for a in late["by_action"]] == ["soft_reminder"] and late["overall"]["contacted"] == 20
    early = api.client.get("/effects?until=2026-09-01&since=2026-09-01", headers=api.auth()).json()
    assert [a["action"] for a in early["by_action"]] == ["agent_call"] and early["overall"]["holdout"] == 20


def test_effects_before_any_outcome_say_there_is_not_enough_data(api: Api):
    api.write(start_business_date)
    body = api.client.get("/effects", headers=api.auth()).json()
    assert body["overall"]["contacted"] == 0 and body["overall"]["uplift"] is None
    assert body["overall"]["enough_data"] is False and body["overall"]["outcomes_needed"] > 0
    assert body["by_action"] == [] and body["weekly"] == []


@pytest.mark.parametrize(("query", "field", "words"), [
    ("since=yesterday", "since", "YYYY-MM-DD"),
    ("since=0", "since", "YYYY-MM-DD"),  # not a Unix time
    ("until=2026-09-01T00:00:00", "until", "YYYY-MM-DD"),
    ("until=2026-13-01", "until", "valid date"),
    ("since=2026-10-01&until=2026-09-01", "", "is after until"),
    ("from=2026-10-01", "from", "Extra inputs"),
])
def test_the_period_is_validated(api: Api, query: str, field: str, words: str):
    r = api.client.get(f"/effects?{query}", headers=api.auth())
    assert r.status_code == 422, r.text
    assert any(words in e["msg"] for e in r.json()["detail"]), r.json()
    if field:
        assert r.json()["detail"][0]["loc"] == ["query", field]
