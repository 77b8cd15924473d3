"""Contact-plan rows for the API tests, written by plain SQL as the nightly's plan and settlement write them."""

from __future__ import annotations

from datetime import date

from sqlalchemy import Connection, text

TODAY = date(2026, 11, 1)  # the business date of the API tests: the day the test scores are as of


def start_business_date(conn: Connection, day: date = TODAY) -> date:
    """Sets the business date, as loading the bank's data does (it can only move forward)."""
    return conn.execute(text("SELECT pde_move_business_date(:d)"), {"d": day}).scalar_one()


def insert_plan_row(conn: Connection, customer_id: int, arm: str, rank: int, *, day: date = TODAY,
                    action: str = "agent_call", tier: str = "High", pd: float = 0.2, exposure: float = 1000.0,
                    benefit: float = 150.0, payment_outcome: str | None = None) -> None:
    """A contact_plan row of business date `day`; with payment_outcome, settled as the nightly settles it."""
    conn.execute(text(
        "INSERT INTO contact_plan (business_date, customer_id, arm, rank, recommended_action, tier, pd, exposure, "
        "expected_benefit, model_version, policy_version, outcome_due_date, payment_outcome, settled_on) "
        "VALUES (:d, :c, :arm, :rank, :act, :tier, :pd, :exp, :eb, 'v1', 'test-policy', "
        "        CASE WHEN :o IN ('paid', 'late', 'missed') THEN CAST(:d AS date) + 10 END, :o, "
        "        CASE WHEN :o IS NOT NULL THEN CAST(:d AS date) + 30 END)"),
        {"d": day, "c": customer_id, "arm": arm, "rank": rank, "act": action, "tier": tier, "pd": pd,
         "exp": exposure, "eb": benefit, "o": payment_outcome})
