"""Interventions Tracker reads: KPIs, effectiveness by type, outcomes, timeline and the filtered list."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import pandas as pd
import streamlit as st

from dashboard.queries.core import MAX_ROWS, TTL_SHORT, frame, row
from predelinquency.operations.outcomes import PREVENTING_OUTCOMES

SUCCESS = sorted(PREVENTING_OUTCOMES)
UNASSIGNED = "(unassigned)"


@dataclass(frozen=True)
class Filters:
    """What the tracker shows: interventions created between two dates, of these types/channels/statuses."""

    since: date
    until: date
    types: tuple[str, ...] = ()
    channels: tuple[str, ...] = ()
    statuses: tuple[str, ...] = ()
    officer: str | None = None

    def where(self) -> tuple[str, dict[str, Any]]:
        """SQL conditions on interventions i (joined to users u as assignee) and their parameters."""
        clauses = ["i.created_at >= :since", "i.created_at < CAST(:until AS date) + 1"]
        params: dict[str, Any] = {"since": self.since, "until": self.until}
        for col, values, name in (("i.intervention_type", self.types, "types"),
                                  ("i.channel", self.channels, "channels"), ("i.status", self.statuses, "sts")):
            if values:
                clauses.append(f"{col} = ANY(:{name})")
                params[name] = list(values)
        if self.officer == UNASSIGNED:
            clauses.append("i.assigned_to IS NULL")
        elif self.officer:
            clauses.append("u.username = :officer")
            params["officer"] = self.officer
        return " AND ".join(clauses), params


_FROM = """FROM interventions i LEFT JOIN users u ON u.user_id = i.assigned_to
           LEFT JOIN intervention_outcomes o ON o.intervention_id = i.intervention_id"""


@st.cache_data(ttl=TTL_SHORT, show_spinner=False)
def kpis(f: Filters, lgd: float) -> dict[str, Any]:
    """Totals: interventions, outcomes, successes, prevented defaults, prevented loss (exposure × LGD at the
    time of action), amount recovered, pending responses and average response time in hours."""
    where, params = f.where()
    return row(f"""
        SELECT count(*) AS total, count(o.outcome_id) AS outcomes,
               count(*) FILTER (WHERE o.outcome = ANY(:success)) AS successes,
               count(*) FILTER (WHERE o.prevented_default) AS prevented,
               coalesce(sum(o.amount_recovered), 0)::float8 AS recovered,
               count(*) FILTER (WHERE o.outcome_id IS NULL AND i.status IN ('open', 'in_progress')) AS pending,
               avg(extract(epoch FROM o.responded_at - i.created_at) / 3600) AS avg_response_hours,
               coalesce(sum(x.exposure * :lgd) FILTER (WHERE o.prevented_default), 0) AS prevented_loss
        {_FROM}
        LEFT JOIN LATERAL (SELECT rs.exposure FROM risk_scores rs WHERE rs.customer_id = i.customer_id
                           AND rs.as_of = i.risk_as_of ORDER BY rs.created_at DESC LIMIT 1) x ON true
        WHERE {where}""", success=SUCCESS, lgd=lgd, **params)


@st.cache_data(ttl=TTL_SHORT, show_spinner=False)
def by_type(f: Filters) -> pd.DataFrame:
    """Per intervention type: count, outcomes, successes, prevented defaults, recovered, response hours."""
    where, params = f.where()
    return frame(f"""
        SELECT i.intervention_type, count(*) AS interventions, count(o.outcome_id) AS outcomes,
               count(*) FILTER (WHERE o.outcome = ANY(:success)) AS successes,
               count(*) FILTER (WHERE o.prevented_default) AS prevented,
               coalesce(sum(o.amount_recovered), 0)::float8 AS recovered,
               avg(extract(epoch FROM o.responded_at - i.created_at) / 3600) AS avg_response_hours
        {_FROM} WHERE {where} GROUP BY 1 ORDER BY 2 DESC""", success=SUCCESS, **params)


@st.cache_data(ttl=TTL_SHORT, show_spinner=False)
def outcome_distribution(f: Filters) -> pd.DataFrame:
    """Recorded outcomes and how many of each."""
    where, params = f.where()
    return frame(f"SELECT o.outcome, count(*) AS n {_FROM} WHERE {where} AND o.outcome_id IS NOT NULL "
                 f"GROUP BY 1 ORDER BY 2 DESC", **params)


@st.cache_data(ttl=TTL_SHORT, show_spinner=False)
def response_times(f: Filters) -> pd.DataFrame:
    """Response time in days, bucketed: the number of outcomes answered in each whole day after contact."""
    where, params = f.where()
    return frame(f"""
        SELECT least(floor(extract(epoch FROM o.responded_at - i.created_at) / 86400), 30)::int AS days, count(*) AS n
        {_FROM} WHERE {where} AND o.outcome_id IS NOT NULL GROUP BY 1 ORDER BY 1""", **params)


@st.cache_data(ttl=TTL_SHORT, show_spinner=False)
def timeline(f: Filters) -> pd.DataFrame:
    """Per day: interventions created and outcomes recorded (by response date)."""
    where, params = f.where()
    return frame(f"""
        SELECT day, sum(created) AS created, sum(responded) AS responded FROM (
            SELECT i.created_at::date AS day, 1 AS created, 0 AS responded {_FROM} WHERE {where}
            UNION ALL
            SELECT o.responded_at::date, 0, 1 {_FROM} WHERE {where} AND o.outcome_id IS NOT NULL) t
        GROUP BY day ORDER BY day""", **params)


@st.cache_data(ttl=TTL_SHORT, show_spinner=False)
def listing(f: Filters, limit: int = 500) -> pd.DataFrame:
    """The filtered interventions, newest first, with customer, officer and outcome; total_rows before the limit."""
    where, params = f.where()
    return frame(f"""
        SELECT i.intervention_id, i.customer_id, c.full_name, i.intervention_type, i.channel, i.status,
               u.username AS assigned_to, i.created_at, i.due_at, i.pd_at_action, o.outcome, o.responded_at,
               o.prevented_default, o.amount_recovered::float8 AS amount_recovered, i.row_version,
               count(*) OVER () AS total_rows
        {_FROM} JOIN customers c ON c.customer_id = i.customer_id
        WHERE {where} ORDER BY i.created_at DESC, i.intervention_id DESC LIMIT :n""",
                 n=min(limit, MAX_ROWS), **params)


@st.cache_data(ttl=TTL_SHORT, show_spinner=False)
def awaiting_outcome(limit: int = 300) -> pd.DataFrame:
    """Open interventions without an outcome, oldest first: the ones an officer can record an outcome for."""
    return frame("""
        SELECT i.intervention_id, i.customer_id, c.full_name, i.intervention_type, i.channel, i.created_at,
               u.username AS assigned_to
        FROM interventions i JOIN customers c ON c.customer_id = i.customer_id
        LEFT JOIN users u ON u.user_id = i.assigned_to
        LEFT JOIN intervention_outcomes o ON o.intervention_id = i.intervention_id
        WHERE o.outcome_id IS NULL AND i.status IN ('open', 'in_progress')
        ORDER BY i.created_at LIMIT :n""", n=min(limit, MAX_ROWS))
