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
    got = record_outcome(conn, people.officer, iid, "promise_to_pay", notes="pays Friday")
    # a contact result says what the officer saw; whether a miss was prevented is never recorded
    assert "prevented_default" not in got and "amount_recovered" not in got and got["notes"] == "pays Friday"
    assert got["recorded_by"] == people.officer.user_id and got["responded_at"] is not None
    assert got["intervention"]["status"] == "completed" and got["intervention"]["row_version"] == 2
    assert get_intervention(conn, iid)["status"] == "completed"
    audit = recent_audit(conn, entity="intervention", entity_id=iid)[0]
    assert audit["action"] == "record_outcome"
    assert audit["before"]["intervention"]["status"] == "open" and audit["before"]["outcome"] is None
    assert audit["after"]["intervention"]["status"] == "completed" and audit["after"]["outcome"]["outcome"] == (
        "promise_to_pay")
    with pytest.raises(Conflict, match=f"intervention {iid} already has an outcome \\(promise_to_pay"):
        record_outcome(conn, people.manager, iid, "reached")
    assert count(conn, "intervention_outcomes") == 1


def test_contact_result_keeps_the_response_time(conn: Connection, people: People, intervention: dict):
    responded = datetime.now(UTC) - timedelta(minutes=5)
    got = record_outcome(conn, people.officer, intervention["intervention_id"], "no_answer", responded_at=responded)
    assert got["outcome"] == "no_answer" and got["responded_at"] == responded


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"outcome": "vanished"}, "unknown contact result 'vanished'"),
    # "paid" is what the payments say, settled by the nightly: an officer cannot record it
    ({"outcome": "paid"}, "unknown contact result 'paid'"),
    ({"outcome": "reached", "responded_at": datetime.now(UTC) + timedelta(days=2)}, "in the future"),
    ({"outcome": "reached", "responded_at": datetime(2001, 1, 1, tzinfo=UTC)}, "before the intervention was created"),
])
def test_outcome_validation(conn: Connection, people: People, intervention: dict, kwargs: dict, message: str):
    with pytest.raises(PdeError, match=message):
        record_outcome(conn, people.officer, intervention["intervention_id"], **kwargs)
    assert count(conn, "intervention_outcomes") == 0
    assert get_intervention(conn, intervention["intervention_id"])["status"] == "open"


def test_outcome_for_unknown_or_cancelled_intervention(conn: Connection, people: People, intervention: dict):
    with pytest.raises(NotFound, match="intervention 987654 does not exist"):
        record_outcome(conn, people.officer, 987654, "reached")
    update_intervention_status(conn, people.officer, intervention["intervention_id"], "cancelled", 1)
    with pytest.raises(Conflict, match="was cancelled"):
        record_outcome(conn, people.officer, intervention["intervention_id"], "refused")
    assert count(conn, "intervention_outcomes") == 0
