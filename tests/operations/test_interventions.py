from datetime import date, timedelta

import pytest
from sqlalchemy import Connection, create_engine, text

from predelinquency.db.calendar import move_business_date
from predelinquency.errors import Conflict, NotFound, PdeError
from predelinquency.operations import interventions as interventions_mod
from predelinquency.operations.audit import recent_audit
from predelinquency.operations.interventions import (
    create_intervention,
    get_intervention,
    list_interventions,
    update_intervention_status,
)
from predelinquency.settings import Settings
from tests.support.concurrency import in_thread, wait_until_blocked
from tests.support.operations import People, count, insert_customer, insert_score, make_people


@pytest.fixture
def no_cooldown() -> Settings:
    s = Settings()
    s.operations.contact_cooldown_days = 0
    return s


def test_create_writes_row_and_audit_from_latest_score(conn: Connection, people: People, customer: int):
    insert_score(conn, customer, tier="Low", pd=0.02, as_of=date(2024, 5, 1))
    insert_score(conn, customer, tier="High", pd=0.22, as_of=date(2024, 6, 1), expected_benefit=310.0)
    row = create_intervention(conn, people.officer, customer, "agent_call", "phone", Settings(), notes=" call pm ")
    assert row["status"] == "open" and row["row_version"] == 1 and row["notes"] == "call pm"
    assert row["pd_at_action"] == 0.22 and row["risk_as_of"] == date(2024, 6, 1) and row["expected_benefit"] == 310.0
    assert row["due_at"] - row["created_at"] == timedelta(hours=72)  # High tier SLA
    assert row["created_by"] == people.officer.user_id and row["assigned_to"] is None
    audit = recent_audit(conn, entity="intervention", entity_id=row["intervention_id"])
    assert len(audit) == 1 and audit[0]["action"] == "create_intervention" and audit[0]["actor"] == "olivia"
    assert audit[0]["before"] is None and audit[0]["after"]["intervention_id"] == row["intervention_id"]
    assert audit[0]["after"]["pd_at_action"] == 0.22
    assert get_intervention(conn, row["intervention_id"]) == row
    assert list_interventions(conn, customer_id=customer, status="open") == [row]


def test_unscored_customer_gets_low_tier_sla(conn: Connection, people: People, customer: int):
    row = create_intervention(conn, people.manager, customer, "soft_reminder", "sms", Settings(),
                              assigned_to=people.officer.user_id)
    assert row["due_at"] - row["created_at"] == timedelta(hours=336) and row["pd_at_action"] is None
    assert row["assigned_to"] == people.officer.user_id


def test_unknown_customer_writes_nothing(conn: Connection, people: People):
    with pytest.raises(NotFound, match=r"^customer 123 does not exist$"):
        create_intervention(conn, people.officer, 123, "agent_call", "phone", Settings())
    assert count(conn, "interventions") == 0
    assert count(conn, "action_audit_log", "action = 'create_intervention'") == 0


@pytest.mark.parametrize(("itype", "channel", "message"), [
    ("carrier_pigeon", "phone", "unknown intervention type 'carrier_pigeon'; choose one of soft_reminder"),
    ("agent_call", "fax", "unknown channel 'fax'; choose one of sms"),
])
def test_type_and_channel_are_validated(conn: Connection, people: People, customer: int, itype, channel, message):
    with pytest.raises(PdeError, match=message):
        create_intervention(conn, people.officer, customer, itype, channel, Settings())


def test_cooldown_refuses_and_says_when(conn: Connection, people: People, customer: int):
    first = create_intervention(conn, people.officer, customer, "soft_reminder", "sms", Settings())
    with pytest.raises(Conflict, match=r"last contacted on \d{4}-\d\d-\d\d \(intervention \d+, soft_reminder\).*"
                                       r"cool-down is 7 days, so a new contact is allowed from \d{4}-\d\d-\d\d"):
        create_intervention(conn, people.officer, customer, "agent_call", "phone", Settings())
    assert count(conn, "interventions") == 1
    assert count(conn, "action_audit_log", "action = 'create_intervention'") == 1
    # a cancelled contact does not start a cool-down
    update_intervention_status(conn, people.officer, first["intervention_id"], "cancelled", 1)
    create_intervention(conn, people.officer, customer, "agent_call", "phone", Settings())


def test_cooldown_counts_business_days_not_the_wall_clock(conn: Connection, people: People, customer: int):
    first = create_intervention(conn, people.officer, customer, "soft_reminder", "sms", Settings())
    # a week of wall-clock time changes nothing while the bank's business date stands still
    conn.execute(text("UPDATE interventions SET created_at = now() - interval '8 days', status = 'completed' "
                      "WHERE intervention_id = :id"), {"id": first["intervention_id"]})
    with pytest.raises(Conflict, match="cool-down"):
        create_intervention(conn, people.officer, customer, "agent_call", "phone", Settings())
    # the business date moving on eight days ends it
    move_business_date(conn, first["business_date"] + timedelta(days=8))
    second = create_intervention(conn, people.officer, customer, "agent_call", "phone", Settings())
    assert second["business_date"] == first["business_date"] + timedelta(days=8)
    # SLAs age against the business date too: due a tier's hours after it, at the wall clock's time of day
    assert second["due_at"].date() >= second["business_date"]


def test_duplicate_open_intervention_conflicts(conn: Connection, people: People, customer: int, no_cooldown):
    first = create_intervention(conn, people.officer, customer, "agent_call", "phone", no_cooldown)
    with pytest.raises(Conflict, match=rf"already has an open agent_call \(intervention {first['intervention_id']}"):
        create_intervention(conn, people.manager, customer, "agent_call", "phone", no_cooldown)
    assert count(conn, "interventions") == 1
    create_intervention(conn, people.officer, customer, "soft_reminder", "sms", no_cooldown)  # another type: fine


def test_row_and_audit_are_one_unit(conn: Connection, people: People, customer: int, monkeypatch):
    def broken_audit(*args, **kwargs):
        raise RuntimeError("audit store down")

    monkeypatch.setattr(interventions_mod, "write_audit", broken_audit)
    with pytest.raises(RuntimeError):
        create_intervention(conn, people.officer, customer, "agent_call", "phone", Settings())
    # the savepoint took the intervention with it, and the caller's transaction is still usable
    assert count(conn, "interventions") == 0


def test_status_update_and_stale_version(conn: Connection, people: People, customer: int):
    row = create_intervention(conn, people.officer, customer, "agent_call", "phone", Settings())
    iid = row["intervention_id"]
    updated = update_intervention_status(conn, people.officer, iid, "in_progress", expected_version=1)
    assert updated["status"] == "in_progress" and updated["row_version"] == 2
    with pytest.raises(Conflict, match=f"^intervention {iid} was changed by someone else; reload and try again$"):
        update_intervention_status(conn, people.other_officer, iid, "cancelled", expected_version=1)
    assert get_intervention(conn, iid) == updated
    audit = recent_audit(conn, entity="intervention", entity_id=iid)
    assert [a["action"] for a in audit] == ["update_intervention_status", "create_intervention"]
    assert audit[0]["before"]["status"] == "open" and audit[0]["after"]["status"] == "in_progress"
    with pytest.raises(PdeError, match="record an outcome"):
        update_intervention_status(conn, people.officer, iid, "completed", expected_version=2)
    update_intervention_status(conn, people.officer, iid, "cancelled", expected_version=2)
    with pytest.raises(Conflict, match="is cancelled and cannot become open"):
        update_intervention_status(conn, people.officer, iid, "open", expected_version=3)
    with pytest.raises(NotFound):
        update_intervention_status(conn, people.officer, 987654, "open", expected_version=1)


def test_concurrent_status_updates_never_lose_one(fresh_db: str):
    eng = create_engine(fresh_db)
    with eng.begin() as c:
        p = make_people(c)
        iid = create_intervention(c, p.officer, insert_customer(c), "agent_call", "phone", Settings())[
            "intervention_id"]
    with eng.connect() as first:
        with first.begin():
            update_intervention_status(first, p.officer, iid, "in_progress", expected_version=1)
            thread, out = in_thread(eng, lambda c: update_intervention_status(
                c, p.other_officer, iid, "cancelled", expected_version=1))
            wait_until_blocked(eng)  # the second officer really waits for the first's row lock
        thread.join(10)
    assert isinstance(out.get("error"), Conflict), out
    with eng.connect() as c:
        row = c.execute(text("SELECT status, row_version FROM interventions WHERE intervention_id = :id"),
                        {"id": iid}).one()
    assert (row.status, row.row_version) == ("in_progress", 2)
    eng.dispose()


def test_each_action_goes_only_by_its_allowed_channels(conn: Connection, people: People, customer: int):
    with pytest.raises(PdeError, match=r"a agent_call goes by phone, not sms \(operations.action_channels\)"):
        create_intervention(conn, people.officer, customer, "agent_call", "sms", Settings())
    assert count(conn, "interventions") == 0
    made = create_intervention(conn, people.officer, customer, "soft_reminder", "app", Settings())
    assert made["channel"] == "app"


def test_the_contact_policy_caps_contacts_in_30_business_days(conn: Connection, people: People, customer: int,
                                                              no_cooldown: Settings):
    policy = no_cooldown.model_copy(deep=True)
    policy.operations = policy.operations.model_copy(update={"max_contacts_per_30_days": 2})
    for action, channel in (("soft_reminder", "sms"), ("agent_call", "phone")):
        made = create_intervention(conn, people.officer, customer, action, channel, policy)
        conn.execute(text("UPDATE interventions SET status = 'completed' WHERE intervention_id = :i"),
                     {"i": made["intervention_id"]})
    with pytest.raises(Conflict, match=r"contacted 2 times in the last 30 days; the contact policy allows 2"):
        create_intervention(conn, people.officer, customer, "payment_holiday", "app", policy)
    # thirty business days on, the count starts again
    move_business_date(conn, made["business_date"] + timedelta(days=30))
    create_intervention(conn, people.officer, customer, "payment_holiday", "app", policy)
