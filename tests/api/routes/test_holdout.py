import pytest

from predelinquency.operations.audit import recent_audit
from tests.api.plan_rows import TODAY, start_business_date
from tests.support.api import Api


@pytest.mark.parametrize("method", ["GET", "PUT"])
def test_officers_are_never_shown_the_control_group(api: Api, method: str):
    r = api.client.request(method, "/holdout", headers=api.auth("officer"),
                           json={"share": 0.2} if method == "PUT" else None)
    assert r.status_code == 403 and "officer" in r.json()["detail"]
    assert api.sql("SELECT count(*) FROM operations_overrides")[0][0] == 0


def test_managers_see_the_size_of_each_arm(api: Api, planned: dict[str, list[int]]):
    r = api.client.get("/holdout", headers=api.auth("manager"))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["business_date"] == TODAY.isoformat() and body["share"] == 0.3 and body["set_by"] == "manager1"
    assert body["held_out_now"] == 3 and body["contact_arm_now"] == 7 and body["released_now"] == 0
    assert body["set_at"] is not None
    assert api.client.get("/holdout", headers=api.auth("admin")).json() == body


def test_before_any_change_the_share_is_the_settings(api: Api):
    api.write(start_business_date)
    body = api.client.get("/holdout", headers=api.auth("manager")).json()
    assert body == {"business_date": TODAY.isoformat(), "share": api.settings.operations.holdout_share,
                    "set_by": "settings", "set_at": None, "held_out_now": 0, "released_now": 0, "contact_arm_now": 0}


def test_a_manager_sets_the_share_audited(api: Api):
    r = api.client.put("/holdout", headers=api.auth("manager"), json={"share": 0.25})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["previous_share"] == api.settings.operations.holdout_share
    assert body["share"] == 0.25 and body["set_by"] == "manager1"
    assert api.client.get("/holdout", headers=api.auth("admin")).json()["share"] == 0.25
    with api.engine.connect() as c:
        audit = recent_audit(c, entity="setting", entity_id="holdout_share")
    assert [(a["actor"], a["action"], a["before"], a["after"]) for a in audit] == [
        ("manager1", "set_holdout_share", {"holdout_share": 0.1}, {"holdout_share": 0.25})]
    # zero switches the measurement off from the next plan on; half is the most it allows
    for share in (0, 0.5):
        assert api.client.put("/holdout", headers=api.auth("admin"), json={"share": share}).status_code == 200


@pytest.mark.parametrize(("body", "words"), [
    ({"share": "abc"}, "valid number"),
    ({"share": "0.2"}, "valid number"),  # a number, not text that looks like one
    ({"share": 2}, "less than or equal to 0.5"),
    ({"share": 0.51}, "less than or equal to 0.5"),
    ({"share": -1}, "greater than or equal to 0"),
    ({"share": None}, "valid number"),
    ({"share": True}, "valid number"),
    ({}, "Field required"),
    ({"share": 0.2, "reason": "x"}, "Extra inputs"),
])
def test_a_bad_share_is_refused_field_by_field(api: Api, body, words):
    r = api.client.put("/holdout", headers=api.auth("manager"), json=body)
    assert r.status_code == 422, r.text
    assert any(words in e["msg"] for e in r.json()["detail"]), r.json()
    assert r.json()["message"].startswith(("share: ", "reason: "))
    assert api.sql("SELECT count(*) FROM operations_overrides")[0][0] == 0
