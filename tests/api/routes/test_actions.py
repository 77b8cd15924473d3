import json
from datetime import date
from typing import Any

import pytest

from predelinquency.operations.assignments import assign_customer
from predelinquency.operations.audit import recent_audit
from predelinquency.operations.interventions import create_intervention
from predelinquency.operations.outcomes import record_outcome
from tests.support.api import Api, insert_customer, insert_model, insert_score

SURROGATE = "ab\udc80cd"  # half of a UTF-16 pair: JSON can carry it, UTF-8 and PostgreSQL cannot
VOLATILE = {"intervention_id", "customer_id", "created_at", "due_at", "updated_at", "assignment_id", "assigned_at",
            "outcome_id", "recorded_at", "responded_at", "intervention"}


@pytest.fixture
def customers(api: Api) -> list[int]:
    """Three scored customers (High tier, so a 72-hour SLA)."""
    def seed(c):
        insert_model(c, "v1")
        ids = [insert_customer(c) for _ in range(3)]
        for cid in ids:
            insert_score(c, cid, as_of=date(2026, 11, 1), pd=0.22, tier="High", benefit=310.0)
        return ids
    return api.write(seed)


def stable(row: dict[str, Any]) -> dict[str, Any]:
    """The row without the fields that differ between two otherwise identical writes."""
    return {k: v for k, v in row.items() if k not in VOLATILE}


def audit_of(api: Api, entity: str, entity_id: int) -> list[dict[str, Any]]:
    with api.engine.connect() as c:
        return recent_audit(c, entity=entity, entity_id=entity_id)


def audit_shape(rows: list[dict[str, Any]]) -> list[tuple]:
    return [(r["actor"], r["action"], r["entity"], sorted(r["after"] or {}), sorted(r["before"] or {}),
             r["details"]) for r in rows]


def test_intervention_is_the_operation_with_its_audit_row(api: Api, customers: list[int]):
    a, b, _ = customers
    r = api.client.post("/interventions", headers=api.auth(), json={
        "customer_id": a, "intervention_type": "agent_call", "channel": "phone", "notes": " call pm "})
    assert r.status_code == 201, r.text
    made = r.json()
    assert made["status"] == "open" and made["notes"] == "call pm" and made["pd_at_action"] == 0.22
    assert made["created_by"] == api.users["officer"].user_id and made["risk_as_of"] == "2026-11-01"
    direct = api.write(lambda c: create_intervention(c, api.users["officer"], b, "agent_call", "phone",
                                                     api.settings, notes=" call pm "))
    row = api.sql("SELECT * FROM interventions WHERE intervention_id = :i", i=made["intervention_id"])[0]._asdict()
    assert stable(row) == stable(direct)
    via_api, via_ops = audit_of(api, "intervention", made["intervention_id"]), audit_of(
        api, "intervention", direct["intervention_id"])
    assert audit_shape(via_api) == audit_shape(via_ops) and via_api[0]["actor"] == "officer1"
    assert via_api[0]["details"] == {"tier": "High", "sla_hours": 72}


def test_intervention_errors_map_to_statuses(api: Api, customers: list[int]):
    post = lambda **body: api.client.post("/interventions", headers=api.auth(), json={  # noqa: E731
        "intervention_type": "soft_reminder", "channel": "sms", **body})
    r = post(customer_id=999_999)
    assert r.status_code == 404 and r.json() == {"detail": "customer 999999 does not exist"}
    assert post(customer_id=customers[0]).status_code == 201
    r = post(customer_id=customers[0])
    assert r.status_code == 409 and "already has an open soft_reminder" in r.json()["detail"]
    # an officer may not give work to another person: the operation's role check, not the route's
    r = post(customer_id=customers[1], assigned_to=api.users["manager"].user_id)
    assert r.status_code == 403 and "assign customers to other officers" in r.json()["detail"]
    # a PdeError the user can fix is a 422 in the same shape as a schema error
    r = api.client.post("/interventions", headers=api.auth("admin"), json={
        "customer_id": customers[1], "intervention_type": "soft_reminder", "channel": "sms",
        "assigned_to": api.users["admin"].user_id})
    assert r.status_code == 422 and "interventions can only be assigned to an officer or manager" in r.json()["message"]
    assert r.json()["detail"][0]["loc"] == ["body"]
    assert api.sql("SELECT count(*) FROM interventions")[0][0] == 1


@pytest.mark.parametrize(("body", "loc", "words"), [
    ({"intervention_type": "carrier_pigeon", "channel": "sms"}, ["body", "intervention_type"], "soft_reminder"),
    ({"intervention_type": "agent_call", "channel": "sms", "colour": "red"}, ["body", "colour"], "Extra inputs"),
    ({"intervention_type": "agent_call", "channel": "sms", "notes": "a\x00b"}, ["body", "notes"], "NUL character"),
    ({"channel": "sms"}, ["body", "intervention_type"], "Field required"),
])
def test_intervention_body_is_validated_field_by_field(api: Api, customers: list[int], body, loc, words):
    r = api.client.post("/interventions", headers=api.auth(), json={"customer_id": customers[0], **body})
    assert r.status_code == 422
    assert any(e["loc"] == loc and words in e["msg"] for e in r.json()["detail"]), r.json()


@pytest.mark.parametrize(("path", "body", "field"), [
    ("/interventions", {"intervention_type": "agent_call", "channel": "sms", "notes": SURROGATE}, "notes"),
    ("/interventions", {"intervention_type": SURROGATE, "channel": "sms"}, "intervention_type"),
    ("/assignments", {"officer": SURROGATE}, "officer"),
    ("/assignments", {"officer": "officer1", "reason": SURROGATE}, "reason"),
    ("/predict", {"features": {SURROGATE: 1.0}}, "features"),
])
def test_a_lone_surrogate_in_any_text_is_a_422_naming_the_field(api: Api, customers: list[int], path, body, field):
    # json.dumps writes it as the escape "\udc80", which is valid JSON; Python reads it back as a lone surrogate
    content = json.dumps(body if path == "/predict" else {"customer_id": customers[0], **body}).encode()
    r = api.client.post(path, headers={**api.auth(), "Content-Type": "application/json"}, content=content)
    assert r.status_code == 422, r.text
    item = next(e for e in r.json()["detail"] if e["loc"][:2] == ["body", field])
    assert "lone UTF-16 surrogate" in item["msg"] and item.get("input", "ab\\udc80cd") == "ab\\udc80cd"


def test_a_customer_id_given_as_text_with_a_lone_surrogate_is_a_422(api: Api):
    content = json.dumps({"customer_id": SURROGATE, "intervention_type": "agent_call", "channel": "sms"}).encode()
    r = api.client.post("/interventions", headers={**api.auth(), "Content-Type": "application/json"}, content=content)
    assert r.status_code == 422 and r.json()["message"].startswith("customer_id: must be valid Unicode text")


def test_a_body_that_is_not_utf8_is_a_400_saying_so(api: Api):
    r = api.client.post("/interventions", headers={**api.auth(), "Content-Type": "application/json"},
                        content=b'{"customer_id": 1, "notes": "caf\xe9"}')  # Latin-1, not UTF-8
    assert r.status_code == 400 and r.json() == {"detail": "the request body is not valid UTF-8 JSON"}


def test_assignment_is_the_operation_with_its_audit_row(api: Api, customers: list[int]):
    a, b, c = customers
    r = api.client.post("/assignments", headers=api.auth("manager"),
                        json={"customer_id": a, "officer": "officer1", "reason": "workload"})
    assert r.status_code == 201, r.text
    made = r.json()
    assert made["officer"] == "officer1" and made["assigned_by"] == api.users["manager"].user_id
    assert made["previous_officer_id"] is None
    direct = api.write(lambda cn: assign_customer(cn, api.users["manager"], b, "officer1", reason="workload"))
    assert stable(made) == stable(direct)
    assert audit_shape(audit_of(api, "customer", a)) == audit_shape(audit_of(api, "customer", b))
    # optimistic check: the caller saw the customer unassigned, but it is now officer1's
    r = api.client.post("/assignments", headers=api.auth("manager"),
                        json={"customer_id": a, "officer": "manager1", "expected_current_officer_id": None})
    assert r.status_code == 409 and "reassigned by someone else (now assigned to officer1)" in r.json()["detail"]
    r = api.client.post("/assignments", headers=api.auth("officer"), json={"customer_id": c, "officer": "manager1"})
    assert r.status_code == 403
    r = api.client.post("/assignments", headers=api.auth("manager"), json={"customer_id": c, "officer": "nobody"})
    assert r.status_code == 404 and r.json()["detail"] == "user 'nobody' does not exist"


def test_outcome_is_the_operation_and_completes_the_intervention(api: Api, customers: list[int]):
    a, b, _ = customers
    officer = api.users["officer"]
    first, second = (api.write(lambda c, cid=cid: create_intervention(c, officer, cid, "agent_call", "phone",
                                                                       api.settings)) for cid in (a, b))
    url = f"/interventions/{first['intervention_id']}/outcome"
    r = api.client.post(url, headers=api.auth(), json={"outcome": "promise_to_pay", "amount_recovered": 120.5})
    assert r.status_code == 201, r.text
    made = r.json()
    assert made["prevented_default"] is True and made["amount_recovered"] == 120.5
    assert made["intervention"]["status"] == "completed" and made["intervention"]["row_version"] == 2
    direct = api.write(lambda c: record_outcome(c, officer, second["intervention_id"], "promise_to_pay",
                                                amount_recovered=120.5))
    assert stable(made) == {**stable(direct), "amount_recovered": 120.5}
    assert [a[:3] for a in audit_shape(audit_of(api, "intervention", first["intervention_id"]))] == \
           [a[:3] for a in audit_shape(audit_of(api, "intervention", second["intervention_id"]))]
    r = api.client.post(url, headers=api.auth(), json={"outcome": "paid"})
    assert r.status_code == 409 and "already has an outcome" in r.json()["detail"]
    assert api.client.post("/interventions/987654/outcome", headers=api.auth(),
                           json={"outcome": "paid"}).status_code == 404
    r = api.client.post(url, headers=api.auth(), json={"outcome": "paid", "amount_recovered": -1})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "amount_recovered"]
