"""Action Center reads: the prioritised queue, today's plan (contact_plan), SLA ageing, contact cool-down.

"Today" is the business date (pde_business_date(), sql/011) and "now" its time of day (pde_business_now()):
on the synthetic bank they move with the data, so cool-downs, snoozes and SLAs play out as the bank moves.
Customers in the control group (an open holdout draw) are left out of every read here, for everyone.
"""

from __future__ import annotations

from datetime import date

import pandas as pd
import streamlit as st
from sqlalchemy import text

from dashboard.queries.core import MAX_ROWS, TTL_SHORT, engine, frame, row, settings
from predelinquency.db.calendar import business_date
from predelinquency.model.uplift.registry import load_uplift
from predelinquency.scoring.plan import HOLDOUT, QUEUE_ORDER, todays_contacts

UNASSIGNED = "(unassigned)"
NO_INTERVENTION = "none"
APPROACHING_HOURS = 24  # an open intervention due within this many hours is "approaching" its SLA

_SNOOZED = ("EXISTS (SELECT 1 FROM customer_snoozes s WHERE s.customer_id = rs.customer_id "
            "AND s.until >= pde_business_date())")
# an open holdout draw (the same rule as operations.holdout.active_holdout); :window is the outcome window
_HELD_OUT = (f"EXISTS (SELECT 1 FROM contact_plan hp WHERE hp.customer_id = rs.customer_id AND hp.arm = '{HOLDOUT}' "
             "AND hp.released_at IS NULL AND hp.business_date <= pde_business_date() "
             "AND hp.business_date + CAST(:window AS integer) > pde_business_date())")
# when an intervention was made in business time: its business date at the wall clock's time of day, the same
# clock its SLA (due_at, from pde_business_now()) was set on
MADE_AT = "((i.business_date + (i.created_at AT TIME ZONE 'UTC')::time) AT TIME ZONE 'UTC')"


@st.cache_data(ttl=TTL_SHORT, show_spinner=False)
def queue_summary(as_of: date, version: str, show_snoozed: bool, window: int) -> pd.DataFrame:
    """Customers, expected loss and expected benefit per urgency tier (1–3) and risk tier."""
    hide = "" if show_snoozed else f"AND NOT {_SNOOZED}"
    return frame(f"""
        SELECT urgency, tier, count(*) AS customers, sum(expected_loss) AS expected_loss,
               sum(expected_benefit) AS expected_benefit
        FROM risk_scores rs
        WHERE as_of = :as_of AND model_version = :v AND urgency <= 3 {hide} AND NOT {_HELD_OUT}
        GROUP BY urgency, tier ORDER BY urgency, tier""", as_of=as_of, v=version, window=window)


@st.cache_data(ttl=TTL_SHORT, show_spinner=False)
def todays_plan(capacity: int) -> dict:
    """The nightly's plan for the business date (contact_plan, contacted arm, by rank): {business_date,
    capacity, planned, made_today, ids, rows}; ids are the planned customers nobody has contacted yet today, in
    plan order (highest expected net benefit first); rows: customer_id -> the plan row (action, channel, expected
    benefit, assignment, why in plain words)."""
    config = settings()
    with engine().connect() as conn:
        today = business_date(conn)
        plan = todays_contacts(conn, today, load_uplift(config, conn), config.costs.lgd)
        made = conn.execute(text("SELECT count(*) FROM interventions WHERE business_date = :d "
                                 "AND status <> 'cancelled'"), {"d": today}).scalar_one()
    left = tuple(int(r["customer_id"]) for r in plan if not r["intervened_today"])
    return {"business_date": today, "capacity": capacity, "planned": len(plan), "made_today": int(made),
            "ids": left, "rows": {int(r["customer_id"]): r for r in plan}}


@st.cache_data(ttl=TTL_SHORT, show_spinner=False)
def worklist(as_of: date, version: str, urgencies: tuple[int, ...], tiers: tuple[str, ...],
             segments: tuple[str, ...], officer: str | None, statuses: tuple[str, ...], show_snoozed: bool,
             cooldown_days: int, window: int, only: tuple[int, ...] | None = None, limit: int = 500) -> pd.DataFrame:
    """The queue, most urgent and most worthwhile first, with owner, last intervention, cool-down and snooze;
    column total_rows holds how many rows match before the limit. only: just these customers (today's plan), in
    that order, urgency 4 included (the plan ranks by expected benefit, not urgency)."""
    where = ["rs.as_of = :as_of", "rs.model_version = :v", "rs.urgency = ANY(:urg)", f"NOT {_HELD_OUT}"]
    params: dict = {"as_of": as_of, "v": version, "urg": list(urgencies), "cool": cooldown_days,
                    "window": window, "limit": min(limit, MAX_ROWS)}
    order = QUEUE_ORDER
    if only is not None:
        where.append("rs.customer_id = ANY(:only)")
        params["only"] = list(only)
        params["urg"].append(4)
        order = "array_position(CAST(:only AS bigint[]), rs.customer_id)"
    if tiers:
        where.append("rs.tier = ANY(:tiers)")
        params["tiers"] = list(tiers)
    if segments:
        where.append("c.segment = ANY(:segs)")
        params["segs"] = list(segments)
    if officer == UNASSIGNED:
        where.append("u.username IS NULL")
    elif officer:
        where.append("u.username = :officer")
        params["officer"] = officer
    if statuses:
        where.append(f"coalesce(li.status, '{NO_INTERVENTION}') = ANY(:st)")
        params["st"] = list(statuses)
    if not show_snoozed:
        where.append("sn.until IS NULL")
    # the cool-down counts business days from the business date of the last contact (operations.interventions)
    return frame(f"""
        SELECT rs.customer_id, c.full_name, c.segment, rs.urgency, rs.tier, rs.pd, rs.prev_pd, rs.score,
               rs.score_change, rs.recommended_action, rs.expected_benefit, rs.expected_loss, rs.exposure,
               rs.reasons -> 0 ->> 'text' AS top_reason, u.username AS officer,
               coalesce(li.status, '{NO_INTERVENTION}') AS intervention_status, li.intervention_type AS last_type,
               li.due_at, lc.last_contact,
               (lc.last_contact + CAST(:cool AS integer) > pde_business_date()) AS in_cooldown,
               lc.last_contact + CAST(:cool AS integer) AS contact_allowed_from,
               sn.until AS snoozed_until, count(*) OVER () AS total_rows
        FROM risk_scores rs
        JOIN customers c ON c.customer_id = rs.customer_id
        LEFT JOIN customer_assignments a ON a.customer_id = rs.customer_id AND a.ended_at IS NULL
        LEFT JOIN users u ON u.user_id = a.officer_id
        LEFT JOIN LATERAL (SELECT status, intervention_type, due_at FROM interventions i
                           WHERE i.customer_id = rs.customer_id ORDER BY created_at DESC LIMIT 1) li ON true
        LEFT JOIN LATERAL (SELECT max(business_date) AS last_contact FROM interventions i
                           WHERE i.customer_id = rs.customer_id AND i.status <> 'cancelled') lc ON true
        LEFT JOIN LATERAL (SELECT max(until) AS until FROM customer_snoozes s
                           WHERE s.customer_id = rs.customer_id AND s.until >= pde_business_date()) sn ON true
        WHERE {' AND '.join(where)}
        ORDER BY {order}
        LIMIT :limit""", **params)


@st.cache_data(ttl=TTL_SHORT, show_spinner=False)
def sla_summary() -> dict[str, int]:
    """Open interventions by SLA state: overdue, approaching (due within a day), within SLA."""
    r = row(f"""
        SELECT count(*) FILTER (WHERE due_at < pde_business_now()) AS overdue,
               count(*) FILTER (WHERE due_at >= pde_business_now()
                                AND due_at < pde_business_now() + make_interval(hours => {APPROACHING_HOURS}))
                   AS approaching,
               count(*) FILTER (WHERE due_at >= pde_business_now() + make_interval(hours => {APPROACHING_HOURS}))
                   AS within
        FROM interventions WHERE status IN ('open', 'in_progress')""")
    return {k: int(v or 0) for k, v in r.items()}


@st.cache_data(ttl=TTL_SHORT, show_spinner=False)
def open_interventions(limit: int = 200) -> pd.DataFrame:
    """Open interventions, the closest to (or furthest past) their SLA first, with age and time left in hours."""
    return frame(f"""
        SELECT i.intervention_id, i.customer_id, c.full_name, i.intervention_type, i.channel, i.status,
               u.username AS assigned_to, i.business_date, i.due_at,
               extract(epoch FROM pde_business_now() - {MADE_AT}) / 3600 AS age_hours,
               extract(epoch FROM i.due_at - pde_business_now()) / 3600 AS hours_left,
               CASE WHEN i.due_at < pde_business_now() THEN 'Overdue'
                    WHEN i.due_at < pde_business_now() + make_interval(hours => {APPROACHING_HOURS})
                        THEN 'Approaching'
                    ELSE 'Within SLA' END AS sla
        FROM interventions i JOIN customers c ON c.customer_id = i.customer_id
        LEFT JOIN users u ON u.user_id = i.assigned_to
        WHERE i.status IN ('open', 'in_progress')
        ORDER BY i.due_at LIMIT :limit""", limit=min(limit, MAX_ROWS))


@st.cache_data(ttl=TTL_SHORT, show_spinner=False)
def cooldown_customers(cooldown_days: int, limit: int = 200) -> pd.DataFrame:
    """Customers contacted within the cool-down: last contact's business date, its type, and from which business
    date a new contact is allowed."""
    return frame("""
        SELECT d.*, count(*) OVER () AS total_rows FROM (
            SELECT DISTINCT ON (i.customer_id) i.customer_id, c.full_name, i.intervention_type AS last_type,
                   i.channel, i.business_date AS last_contact,
                   i.business_date + CAST(:cool AS integer) AS contact_allowed_from
            FROM interventions i JOIN customers c ON c.customer_id = i.customer_id
            WHERE i.status <> 'cancelled' AND i.business_date + CAST(:cool AS integer) > pde_business_date()
            ORDER BY i.customer_id, i.business_date DESC, i.created_at DESC) d
        ORDER BY d.last_contact DESC, d.customer_id LIMIT :limit""", cool=cooldown_days, limit=min(limit, MAX_ROWS))
