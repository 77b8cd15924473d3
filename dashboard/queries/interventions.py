"""Interventions Tracker reads of the team's work: activity, contact results, timeline and the filtered list.

What the contacts achieved is not read here: it is measured against the control group (queries/effects.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import pandas as pd
import streamlit as st

from dashboard.queries.core import MAX_ROWS, TTL_SHORT, frame, row

UNASSIGNED = "(unassigned)"


@dataclass(frozen=True)
class Filters:
    """What the tracker lists: interventions made between two business dates, of these types/channels/statuses."""

    since: date
    until: date
    types: tuple[str, ...] = ()
    channels: tuple[str, ...] = ()
    statuses: tuple[str, ...] = ()
    officer: str | None = None

    def where(self) -> tuple[str, dict[str, Any]]:
        """SQL conditions on interventions i (joined to users u as assignee) and their parameters."""
        clauses = ["i.business_date >= :since", "i.business_date <= :until"]
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
def activity(f: Filters) -> dict[str, Any]:
    """Interventions made, contact results recorded, still pending, payment outcomes settled, average response
    time in hours."""
    where, params = f.where()
    return row(f"""
        SELECT count(*) AS total, count(o.outcome_id) AS results,
               count(*) FILTER (WHERE o.outcome_id IS NULL AND i.status IN ('open', 'in_progress')) AS pending,
               count(*) FILTER (WHERE i.settled_on IS NOT NULL) AS settled,
               avg(extract(epoch FROM o.responded_at - i.created_at) / 3600) AS avg_response_hours
        {_FROM} WHERE {where}""", **params)


@st.cache_data(ttl=TTL_SHORT, show_spinner=False)
def outcome_distribution(f: Filters) -> pd.DataFrame:
    """Recorded contact results and how many of each."""
    where, params = f.where()
    return frame(f"SELECT o.outcome, count(*) AS n {_FROM} WHERE {where} AND o.outcome_id IS NOT NULL "
                 f"GROUP BY 1 ORDER BY 2 DESC", **params)


@st.cache_data(ttl=TTL_SHORT, show_spinner=False)
def response_times(f: Filters) -> pd.DataFrame:
    """Response time in days, bucketed: the number of contact results in each whole day after contact."""
    where, params = f.where()
    return frame(f"""
        SELECT least(floor(extract(epoch FROM o.responded_at - i.created_at) / 86400), 30)::int AS days, count(*) AS n
        {_FROM} WHERE {where} AND o.outcome_id IS NOT NULL GROUP BY 1 ORDER BY 1""", **params)


@st.cache_data(ttl=TTL_SHORT, show_spinner=False)
def timeline(f: Filters) -> pd.DataFrame:
    """Per business date: interventions made and contact results recorded for them."""
    where, params = f.where()
    return frame(f"""
        SELECT i.business_date AS day, count(*) AS created, count(o.outcome_id) AS responded
        {_FROM} WHERE {where} GROUP BY 1 ORDER BY 1""", **params)


@st.cache_data(ttl=TTL_SHORT, show_spinner=False)
def listing(f: Filters, limit: int = 500) -> pd.DataFrame:
    """The filtered interventions, newest first, with customer, officer, contact result and settled payment
    outcome; total_rows before the limit."""
    where, params = f.where()
    return frame(f"""
        SELECT i.intervention_id, i.customer_id, c.full_name, i.intervention_type, i.channel, i.status,
               u.username AS assigned_to, i.business_date, i.created_at, i.due_at, i.pd_at_action, o.outcome,
               o.responded_at, i.payment_outcome, i.outcome_due_date, i.settled_on, i.row_version,
               count(*) OVER () AS total_rows
        {_FROM} JOIN customers c ON c.customer_id = i.customer_id
        WHERE {where} ORDER BY i.business_date DESC, i.created_at DESC, i.intervention_id DESC LIMIT :n""",
                 n=min(limit, MAX_ROWS), **params)
