"""The randomised control group (contact_plan's holdout arm, drawn by the nightly, scoring/plan.py): who is in
it, refusing contact with them, a manager's release with a reason, and the share held out.

A held-out customer stays in the control group for the outcome window of the plan that drew them. Contacting
them would break the comparison, so operations refuse it; a manager may release one with a reason (the customer
then leaves the measurement). Officers are never shown who is held out; managers see its size and set its share.
"""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from sqlalchemy import Connection, text

from predelinquency.db.audit import write_audit
from predelinquency.db.calendar import business_date
from predelinquency.errors import Conflict, HeldOut, PdeError
from predelinquency.operations._common import as_dict
from predelinquency.operations.accounts import User
from predelinquency.operations.permissions import actor_name, authorise
from predelinquency.scoring.plan import holdout_share
from predelinquency.settings import Settings

MAX_REASON = 2000


def active_holdout(conn: Connection, customer_id: int, settings: Settings) -> dict[str, Any] | None:
    """The customer's open holdout draw (business_date, window end), or None when they may be contacted."""
    row = conn.execute(text(
        "SELECT business_date, business_date + CAST(:w AS integer) AS window_end FROM contact_plan "
        "WHERE customer_id = :c AND arm = 'holdout' AND released_at IS NULL "
        "  AND business_date <= pde_business_date() AND business_date + CAST(:w AS integer) > pde_business_date() "
        "ORDER BY business_date DESC LIMIT 1"),
        {"c": customer_id, "w": settings.operations.outcome_window_days}).first()
    return None if row is None else as_dict(row)


def refuse_if_held_out(conn: Connection, customer_id: int, settings: Settings) -> None:
    """Raises HeldOut (a Conflict) when the customer is in the control group."""
    held = active_holdout(conn, customer_id, settings)
    if held is not None:
        raise HeldOut(
            f"customer {customer_id} is in the control group that measures what contacts prevent (drawn on "
            f"{held['business_date']}, until {held['window_end']}); contacting them would spoil the measurement. "
            "A manager can release them with a reason, which takes them out of the measurement")


def release_from_holdout(conn: Connection, actor: User | str, customer_id: int, reason: str,
                         settings: Settings) -> dict[str, Any]:
    """Releases the customer's open holdout draw so they can be contacted; returns the released plan row."""
    actor = authorise(conn, actor, "manage_holdout")
    reason = (reason or "").strip()
    if not reason:
        raise PdeError("give a reason for releasing a customer from the control group")
    if len(reason) > MAX_REASON:
        raise PdeError(f"the reason is {len(reason):,} characters; at most {MAX_REASON:,}")
    with conn.begin_nested():
        held = active_holdout(conn, customer_id, settings)
        if held is None:
            raise Conflict(f"customer {customer_id} is not in the control group")
        row = conn.execute(text(
            "UPDATE contact_plan SET released_at = now(), released_by = :by, release_reason = :r "
            "WHERE business_date = :d AND customer_id = :c AND released_at IS NULL "
            "RETURNING business_date, customer_id, arm, recommended_action, tier, released_at, released_by, "
            "release_reason"),
            {"by": actor_name(actor), "r": reason, "d": held["business_date"], "c": customer_id}).one()
        released = as_dict(row)
        write_audit(conn, actor_name(actor), "release_from_holdout", "customer", customer_id,
                    {"arm": "holdout", "business_date": held["business_date"]}, released,
                    {"excluded_from_measurement": True})
    return released


def set_holdout_share(conn: Connection, actor: User | str, share: float, settings: Settings) -> dict[str, Any]:
    """Sets the share of each day's plan held out from the next plan on; returns {'before', 'after'}."""
    actor = authorise(conn, actor, "manage_holdout")
    try:
        share = float(share)
    except (TypeError, ValueError) as exc:
        raise PdeError(f"the holdout share must be a number between 0 and 0.5, not {share!r}") from exc
    if not 0.0 <= share <= 0.5:
        raise PdeError(f"the holdout share must be between 0 and 0.5, not {share}")
    with conn.begin_nested():
        before = holdout_share(conn, settings)
        conn.execute(text(
            "INSERT INTO operations_overrides (key, value, changed_by) "
            "VALUES ('holdout_share', CAST(:v AS jsonb), :by) "
            "ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, changed_by = EXCLUDED.changed_by, "
            "changed_at = now()"), {"v": json.dumps(share), "by": actor_name(actor)})
        write_audit(conn, actor_name(actor), "set_holdout_share", "setting", "holdout_share",
                    {"holdout_share": before}, {"holdout_share": share})
    return {"before": before, "after": share}


def holdout_summary(conn: Connection, actor: User | str, settings: Settings) -> dict[str, Any]:
    """For managers: the share, who set it, and how many customers are in the control group now."""
    authorise(conn, actor, "manage_holdout")
    today: date = business_date(conn)
    row = conn.execute(text(
        "SELECT count(*) FILTER (WHERE arm = 'holdout' AND released_at IS NULL) AS held_out, "
        "       count(*) FILTER (WHERE arm = 'holdout' AND released_at IS NOT NULL) AS released, "
        "       count(*) FILTER (WHERE arm = 'contact') AS contact "
        "FROM contact_plan WHERE business_date <= :d AND business_date + CAST(:w AS integer) > :d"),
        {"d": today, "w": settings.operations.outcome_window_days}).one()
    setting = conn.execute(text("SELECT changed_by, changed_at FROM operations_overrides "
                                "WHERE key = 'holdout_share'")).first()
    return {"business_date": today, "share": holdout_share(conn, settings),
            "set_by": setting.changed_by if setting else "settings", "set_at": setting.changed_at if setting else None,
            "held_out_now": int(row.held_out), "released_now": int(row.released), "contact_arm_now": int(row.contact)}
