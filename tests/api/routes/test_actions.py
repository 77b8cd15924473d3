import json
from datetime import UTC, date, datetime
from typing import Any

import pytest

from predelinquency.operations.assignments import assign_customer
from predelinquency.operations.audit import recent_audit
from predelinquency.operations.interventions import create_intervention
from predelinquency.operations.outcomes import record_outcome
from tests.api.plan_rows import TODAY, start_business_date
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


def test_contact_result_is_the_operation_and_completes_the_intervention(api: Api, customers: list[int]):
    a, b, _ = customers
    officer = api.users["officer"]
    first, second = (api.write(lambda c, cid=cid: create_intervention(c, officer, cid, "agent_call", "phone",
                                                                       api.settings)) for cid in (a, b))
    url = f"/interventions/{first['intervention_id']}/outcome"
    # responded_at is wall-clock time, like created_at: no earlier than the day the intervention was made
    responded = datetime.now(UTC).replace(microsecond=0)
    r = api.client.post(url, headers=api.auth(), json={
        "outcome": "promise_to_pay", "responded_at": responded.isoformat(), "notes": " pays Friday "})
    assert r.status_code == 201, r.text
    made = r.json()
    assert made["outcome"] == "promise_to_pay" and made["notes"] == "pays Friday"
    assert datetime.fromisoformat(made["responded_at"]) == responded
    assert "prevented_default" not in made and "amount_recovered" not in made
    assert made["intervention"]["status"] == "completed" and made["intervention"]["row_version"] == 2
    # a promise is not a payment: the outcome stays unsettled until the nightly reads the payments
    assert made["intervention"]["payment_outcome"] is None and made["intervention"]["settled_on"] is None
    stored = api.sql("SELECT outcome, notes FROM intervention_outcomes WHERE intervention_id = :i",
                     i=first["intervention_id"])
    assert [tuple(r) for r in stored] == [("promise_to_pay", "pays Friday")]
    direct = api.write(lambda c: record_outcome(c, officer, second["intervention_id"], "promise_to_pay",
                                                responded_at=responded, notes=" pays Friday "))
    assert stable(made) == stable(direct)
    assert [a[:3] for a in audit_shape(audit_of(api, "intervention", first["intervention_id"]))] == \
           [a[:3] for a in audit_shape(audit_of(api, "intervention", second["intervention_id"]))]
    r = api.client.post(url, headers=api.auth(), json={"outcome": "reached"})
    assert r.status_code == 409 and "already has an outcome" in r.json()["detail"]
    assert api.client.post("/interventions/987654/outcome", headers=api.auth(),
                           json={"outcome": "reached"}).status_code == 404


@pytest.mark.parametrize("result", ["reached", "no_answer", "promise_to_pay", "refused"])
def test_every_contact_result_round_trips(api: Api, customers: list[int], result: str):
    made = api.write(lambda c: create_intervention(c, api.users["officer"], customers[0], "soft_reminder", "sms",
                                                   api.settings))
    r = api.client.post(f"/interventions/{made['intervention_id']}/outcome", headers=api.auth(),
                        json={"outcome": result})
    assert r.status_code == 201 and r.json()["outcome"] == result


@pytest.mark.parametrize(("body", "field", "words"), [
    ({"outcome": "paid"}, "outcome", "'reached', 'no_answer', 'promise_to_pay' or 'refused'"),
    ({"outcome": "restructured"}, "outcome", "'reached'"),
    ({"outcome": "reached", "amount_recovered": 120.5}, "amount_recovered", "Extra inputs"),
    ({"outcome": "reached", "prevented_default": True}, "prevented_default", "Extra inputs"),
    ({"outcome": "reached", "responded_at": "1850-01-01T00:00:00Z"}, "responded_at", "between the years"),
])
def test_a_contact_result_is_validated_field_by_field(api: Api, customers: list[int], body, field, words):
    made = api.write(lambda c: create_intervention(c, api.users["officer"], customers[0], "agent_call", "phone",
                                                   api.settings))
    r = api.client.post(f"/interventions/{made['intervention_id']}/outcome", headers=api.auth(), json=body)
    assert r.status_code == 422, r.text
    item = r.json()["detail"][0]
    assert item["loc"] == ["body", field] and words in item["msg"], item
    assert api.sql("SELECT count(*) FROM intervention_outcomes")[0][0] == 0


def test_an_intervention_carries_its_business_date_and_settled_outcome(api: Api, customers: list[int]):
    api.write(start_business_date)
    r = api.client.post("/interventions", headers=api.auth(), json={
        "customer_id": customers[0], "intervention_type": "agent_call", "channel": "phone"})
    made = r.json()
    assert made["business_date"] == TODAY.isoformat() and made["due_at"].startswith("2026-11-04")
    assert (made["outcome_due_date"], made["payment_outcome"], made["settled_on"]) == (None, None, None)


def test_a_customer_in_the_control_group_is_refused_with_409(api: Api, planned: dict[str, list[int]]):
    held = planned["holdout"][0]
    body = {"customer_id": held, "intervention_type": "agent_call", "channel": "phone"}
    for role in ("officer", "manager", "admin"):
        r = api.client.post("/interventions", headers=api.auth(role), json=body)
        assert r.status_code == 409, r.text
        assert r.json()["detail"].startswith(f"customer {held} is in the control group that measures what contacts "
                                             f"prevent (drawn on {TODAY}")
        assert "A manager can release them with a reason" in r.json()["detail"]
    # an officer may not release: the control group is a manager's decision
    r = api.client.post("/interventions", headers=api.auth(), json={**body, "release_reason": "customer called us"})
    assert r.status_code == 403
    assert api.sql("SELECT count(*) FROM interventions")[0][0] == 0
    assert api.sql("SELECT count(*) FROM contact_plan WHERE released_at IS NOT NULL")[0][0] == 0
    # the contact arm may be contacted as usual
    r = api.client.post("/interventions", headers=api.auth(), json={**body, "customer_id": planned["contact"][0]})
    assert r.status_code == 201, r.text


def test_a_manager_releases_a_held_out_customer_with_a_reason(api: Api, planned: dict[str, list[int]]):
    held = planned["holdout"][0]
    r = api.client.post("/interventions", headers=api.auth("manager"), json={
        "customer_id": held, "intervention_type": "agent_call", "channel": "phone",
        "release_reason": " customer asked for a call "})
    assert r.status_code == 201, r.text
    assert r.json()["created_by"] == api.users["manager"].user_id
    released = api.sql("SELECT released_by, release_reason FROM contact_plan WHERE customer_id = :c", c=held)
    assert [tuple(r) for r in released] == [("manager1", "customer asked for a call")]
    audit = audit_of(api, "customer", held)
    assert [(a["actor"], a["action"], a["details"]) for a in audit] == [
        ("manager1", "release_from_holdout", {"excluded_from_measurement": True})]
    summary = api.client.get("/holdout", headers=api.auth("manager")).json()
    assert summary["released_now"] == 1 and summary["held_out_now"] == 2
    # released, not moved: officers' plan still lists the contact arm only
    assert held not in [c["customer_id"] for c in api.client.get("/plan", headers=api.auth()).json()["customers"]]
    # a reason for a customer who is not held out is ignored
    r = api.client.post("/interventions", headers=api.auth("manager"), json={
        "customer_id": planned["contact"][0], "intervention_type": "agent_call", "channel": "phone",
        "release_reason": "not needed"})
    assert r.status_code == 201 and len(audit_of(api, "customer", planned["contact"][0])) == 0


@pytest.mark.parametrize(("reason", "status", "words"), [
    ("", 422, "at least 1 character"),
    ("   ", 422, "give a reason for releasing a customer"),
    ("x" * 2001, 422, "at most 2000 characters"),
    ("a\x00b", 422, "NUL character"),
])
def test_a_release_reason_is_validated(api: Api, planned: dict[str, list[int]], reason: str, status: int, words: str):
    r = api.client.post("/interventions", headers=api.auth("manager"), json={
        "customer_id": planned["holdout"][0], "intervention_type": "agent_call", "channel": "phone",
        "release_reason": reason})
    assert r.status_code == status, r.text
    assert words in r.json()["message"]
    assert api.sql("SELECT count(*) FROM contact_plan WHERE released_at IS NOT NULL")[0][0] == 0
