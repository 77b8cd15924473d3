"""Reads for the API, aggregated in SQL: statistics, a customer's score history, the riskiest customers, today's
contact plan."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import Connection, text

from predelinquency.db.calendar import business_date
from predelinquency.domain.vocabulary import TIERS
from predelinquency.errors import NotFound
from predelinquency.scoring.plan import todays_contacts
from predelinquency.settings import Settings

_SCORE_COLS = ("rs.as_of, rs.model_version, rs.pd, rs.score, rs.rating_band, rs.tier, rs.model_tier, rs.score_change, "
               "rs.exposure, rs.expected_loss, rs.recommended_action, rs.urgency, rs.reasons, rs.policy_rules")
_TIER_ORDER = "ARRAY['Low', 'Medium', 'High', 'Critical']"


def champion_scores(conn: Connection) -> tuple[str | None, date | None]:
    """(champion version, the newest as_of it scored); None for what does not exist yet."""
    row = conn.execute(text(
        "SELECT mv.version, (SELECT max(rs.as_of) FROM risk_scores rs WHERE rs.model_version = mv.version) AS as_of "
        "FROM model_versions mv WHERE mv.status = 'champion'")).first()
    return (None, None) if row is None else (row.version, row.as_of)


def portfolio_stats(conn: Connection) -> dict[str, Any]:
    """Tier counts, average PD, exposure, expected loss and benefit of the champion's latest scores, and workload."""
    version, as_of = champion_scores(conn)
    row = conn.execute(text(f"""
        WITH latest AS (
            SELECT * FROM risk_scores WHERE as_of = CAST(:as_of AS date) AND model_version = CAST(:v AS text))
        SELECT count(*) AS customers_scored,
               count(*) FILTER (WHERE tier = 'Low') AS "Low",
               count(*) FILTER (WHERE tier = 'Medium') AS "Medium",
               count(*) FILTER (WHERE tier = 'High') AS "High",
               count(*) FILTER (WHERE tier = 'Critical') AS "Critical",
               avg(pd) AS average_pd,
               coalesce(sum(exposure), 0) AS total_exposure,
               coalesce(sum(expected_loss), 0) AS expected_loss,
               coalesce(sum(expected_benefit) FILTER (WHERE recommended_action <> 'none'), 0) AS expected_benefit,
               count(*) FILTER (WHERE tier <> model_tier) AS policy_overrides,
               count(*) FILTER (WHERE array_position({_TIER_ORDER}, tier) > array_position({_TIER_ORDER}, prev_tier))
                   AS tier_worsened,
               (SELECT coalesce(jsonb_object_agg(recommended_action, n), '{{}}'::jsonb) FROM
                   (SELECT recommended_action, count(*) AS n FROM latest GROUP BY recommended_action) a) AS actions,
               (SELECT count(*) FROM interventions WHERE status IN ('open', 'in_progress')) AS open_interventions,
               (SELECT count(*) FROM interventions WHERE status IN ('open', 'in_progress')
                      AND due_at < pde_business_now()) AS overdue_interventions,
               (SELECT count(*) FROM customer_assignments WHERE ended_at IS NULL) AS assigned_customers
        FROM latest"""), {"as_of": as_of, "v": version}).one()
    return {
        "as_of": as_of, "model_version": version, "customers_scored": row.customers_scored,
        "tiers": {t: getattr(row, t) for t in TIERS}, "average_pd": row.average_pd,
        "total_exposure": row.total_exposure, "expected_loss": row.expected_loss,
        "expected_benefit": row.expected_benefit, "recommended_actions": row.actions,
        "policy_overrides": row.policy_overrides, "tier_worsened": row.tier_worsened,
        "open_interventions": row.open_interventions, "overdue_interventions": row.overdue_interventions,
        "assigned_customers": row.assigned_customers,
    }


def customer_history(conn: Connection, customer_id: int, limit: int) -> list[dict[str, Any]]:
    """The customer's newest `limit` daily scores, oldest first; NotFound for an unknown customer."""
    if conn.execute(text("SELECT 1 FROM customers WHERE customer_id = :c"), {"c": customer_id}).first() is None:
        raise NotFound(f"customer {customer_id} does not exist")
    # on a day scored by several models the champion's row is the one officers saw
    rows = conn.execute(text(
        f"SELECT DISTINCT ON (rs.as_of) {_SCORE_COLS} FROM risk_scores rs "
        f"LEFT JOIN model_versions mv ON mv.version = rs.model_version WHERE rs.customer_id = :c "
        f"ORDER BY rs.as_of DESC, (mv.status = 'champion') DESC NULLS LAST, rs.created_at DESC LIMIT :limit"),
        {"c": customer_id, "limit": limit}).mappings().all()
    return [dict(r) for r in reversed(rows)]


def high_risk_customers(conn: Connection, limit: int, tier: str | None) -> dict[str, Any]:
    """The champion's latest scores in the tier (default High and Critical), highest PD first, with the owner."""
    version, as_of = champion_scores(conn)
    tiers = [tier] if tier else ["High", "Critical"]
    rows = conn.execute(text(
        f"SELECT top.*, u.username AS assigned_officer FROM ("
        f"  SELECT rs.customer_id, rs.expected_benefit, {_SCORE_COLS} FROM risk_scores rs"
        f"  WHERE rs.as_of = CAST(:as_of AS date) AND rs.model_version = CAST(:v AS text) AND rs.tier = ANY(:tiers)"
        f"  ORDER BY rs.pd DESC, rs.customer_id LIMIT :limit) top "
        f"LEFT JOIN customer_assignments a ON a.customer_id = top.customer_id AND a.ended_at IS NULL "
        f"LEFT JOIN users u ON u.user_id = a.officer_id ORDER BY top.pd DESC, top.customer_id"),
        {"as_of": as_of, "v": version, "tiers": tiers, "limit": limit}).mappings().all()
    return {"as_of": as_of, "model_version": version, "tiers": tiers, "count": len(rows),
            "customers": [dict(r) for r in rows]}


def todays_plan(conn: Connection, settings: Settings) -> dict[str, Any]:
    """The contact arm of the business date's plan as officers work it, with why each action; the control group
    is never shown."""
    from predelinquency.model.uplift.registry import load_uplift  # the learners load with the model libraries

    today = business_date(conn)
    rows = todays_contacts(conn, today, load_uplift(settings, conn), settings.costs.lgd)
    return {"business_date": today, "count": len(rows), "customers": rows}
