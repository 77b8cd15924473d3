from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Connection

from predelinquency.errors import Conflict, NotFound, PdeError
from predelinquency.operations.audit import recent_audit
from predelinquency.operations.interventions import create_intervention, get_intervention, update_intervention_status
from predelinquency.operations.outcomes import record_outcome
from predelinquency.settings import Settings
from tests.support.operations import People, count


@pytest.fixture
def intervention(conn: Connection, people: People, customer: int) -> dict:
    return create_intervention(conn, people.officer, customer, "agent_call", "phone", Settings())


def test_outcome_completes_intervention_and_cannot_be_recorded_twice(conn: Connection, people: People,
                                                                     intervention: dict):
    iid = intervention["intervention_id"]
    got = record_outcome(conn, people.officer, iid, "promise_to_pay", amount_recovered=120.5, notes="pays Friday")
    assert got["prevented_default"] is True and float(got["amount_recovered"]) == 120.5
    assert got["recorded_by"] == people.officer.user_id and got["responded_at"] is not None
    assert got["intervention"]["status"] == "completed" and got["intervention"]["row_version"] == 2
    assert get_intervention(conn, iid)["status"] == "completed"
    audit = recent_audit(conn, entity="intervention", entity_id=iid)[0]
    assert audit["action"] == "record_outcome"
    assert audit["before"]["intervention"]["status"] == "open" and audit["before"]["outcome"] is None
    assert audit["after"]["intervention"]["status"] == "completed" and audit["after"]["outcome"]["outcome"] == (
        "promise_to_pay")
    with pytest.raises(Conflict, match=f"intervention {iid} already has an outcome \\(promise_to_pay"):
        record_outcome(conn, people.manager, iid, "paid")
    assert count(conn, "intervention_outcomes") == 1


def test_outcome_defaults_and_overrides(conn: Connection, people: People, intervention: dict):
    responded = datetime.now(UTC) - timedelta(minutes=5)
    got = record_outcome(conn, people.officer, intervention["intervention_id"], "no_response",
                         responded_at=responded, prevented_default=None)
    assert got["prevented_default"] is False and got["responded_at"] == responded


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"outcome": "vanished"}, "unknown outcome 'vanished'"),
    ({"outcome": "paid", "amount_recovered": -5}, "zero or more"),
    ({"outcome": "paid", "amount_recovered": "lots"}, "not a number"),
    ({"outcome": "paid", "responded_at": datetime.now(UTC) + timedelta(days=2)}, "in the future"),
    ({"outcome": "paid", "responded_at": datetime(2001, 1, 1, tzinfo=UTC)}, "before the intervention was created"),
])
def test_outcome_validation(conn: Connection, people: People, intervention: dict, kwargs: dict, message: str):
    with pytest.raises(PdeError, match=message):
        record_outcome(conn, people.officer, intervention["intervention_id"], **kwargs)
    assert count(conn, "intervention_outcomes") == 0
    assert get_intervention(conn, intervention["intervention_id"])["status"] == "open"


def test_outcome_for_unknown_or_cancelled_intervention(conn: Connection, people: People, intervention: dict):
    with pytest.raises(NotFound, match="intervention 987654 does not exist"):
        record_outcome(conn, people.officer, 987654, "paid")
    update_intervention_status(conn, people.officer, intervention["intervention_id"], "cancelled", 1)
    with pytest.raises(Conflict, match="was cancelled"):
        record_outcome(conn, people.officer, intervention["intervention_id"], "paid")
    assert count(conn, "intervention_outcomes") == 0
