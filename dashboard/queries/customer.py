"""Customer Deep Dive reads: search, profile, score history, drivers, behaviour timeline, peers, interventions."""

from __future__ import annotations

from datetime import date

import pandas as pd
import streamlit as st

from dashboard.queries.core import TTL, TTL_LONG, TTL_SHORT, frame, row

SEARCH_LIMIT = 20
# the champion's score first when several models scored the same day, then the newest run
_CHAMPION_FIRST = "(mv.status = 'champion') DESC NULLS LAST, rs.created_at DESC"


def _like_prefix(text_: str) -> str:
    """A LIKE pattern matching names that start with text_, its own % and _ taken literally."""
    return text_.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


@st.cache_data(ttl=TTL, show_spinner=False)
def search(query: str) -> pd.DataFrame:
    """Up to SEARCH_LIMIT customers whose id is the query or whose name starts with it (any case)."""
    q = query.strip()
    if not q:
        return pd.DataFrame(columns=["customer_id", "full_name", "segment", "region"])
    if q.isdigit():
        return frame("SELECT customer_id, full_name, segment, region FROM customers WHERE customer_id = :id",
                     id=int(q))
    return frame("SELECT customer_id, full_name, segment, region FROM customers "
                 "WHERE lower(full_name) LIKE :p ORDER BY lower(full_name), customer_id LIMIT :n",
                 p=_like_prefix(q.lower()), n=SEARCH_LIMIT)


@st.cache_data(ttl=TTL_SHORT, show_spinner=False)
def profile(customer_id: int) -> dict:
    """The customer with their products, credit exposure, current officer and active snooze ({} if unknown)."""
    return row("""
        SELECT c.customer_id, c.full_name, c.age, c.employment_type, c.segment, c.region,
               c.monthly_income::float8 AS monthly_income, c.salary_day, c.tenure_months, c.is_active,
               (SELECT string_agg(DISTINCT a.product_type, ', ') FROM accounts a
                WHERE a.customer_id = c.customer_id) AS products,
               (SELECT coalesce(sum(a.outstanding), 0)::float8 FROM accounts a
                WHERE a.customer_id = c.customer_id) AS outstanding,
               (SELECT coalesce(sum(a.monthly_instalment), 0)::float8 FROM accounts a
                WHERE a.customer_id = c.customer_id) AS monthly_instalments,
               (SELECT u.username FROM customer_assignments ca JOIN users u ON u.user_id = ca.officer_id
                WHERE ca.customer_id = c.customer_id AND ca.ended_at IS NULL) AS officer,
               (SELECT ca.officer_id FROM customer_assignments ca
                WHERE ca.customer_id = c.customer_id AND ca.ended_at IS NULL) AS officer_id,
               (SELECT max(s.until) FROM customer_snoozes s
                WHERE s.customer_id = c.customer_id AND s.until >= pde_business_date()) AS snoozed_until,
               (SELECT max(i.business_date) FROM interventions i
                WHERE i.customer_id = c.customer_id AND i.status <> 'cancelled') AS last_contact
        FROM customers c WHERE c.customer_id = :id""", id=customer_id)


@st.cache_data(ttl=TTL_SHORT, show_spinner=False)
def latest_score(customer_id: int) -> dict:
    """The customer's newest score with reasons, action, loss and urgency ({} when never scored)."""
    return row(f"""
        SELECT rs.as_of, rs.model_version, rs.pd, rs.score, rs.rating_band, rs.tier, rs.model_tier, rs.prev_pd,
               rs.prev_tier, rs.score_change, rs.reasons, rs.exposure, rs.expected_loss, rs.recommended_action,
               rs.expected_benefit, rs.urgency, rs.policy_rules
        FROM risk_scores rs LEFT JOIN model_versions mv ON mv.version = rs.model_version
        WHERE rs.customer_id = :id ORDER BY rs.as_of DESC, {_CHAMPION_FIRST} LIMIT 1""", id=customer_id)


@st.cache_data(ttl=TTL_SHORT, show_spinner=False)
def score_history(customer_id: int, limit: int = 180) -> pd.DataFrame:
    """One score per scoring date (the champion's when several), oldest first."""
    return frame(f"""
        SELECT * FROM (
            SELECT DISTINCT ON (rs.as_of) rs.as_of, rs.pd, rs.score, rs.tier, rs.model_version
            FROM risk_scores rs LEFT JOIN model_versions mv ON mv.version = rs.model_version
            WHERE rs.customer_id = :id ORDER BY rs.as_of DESC, {_CHAMPION_FIRST} LIMIT :n) h
        ORDER BY as_of""", id=customer_id, n=limit)


@st.cache_data(ttl=TTL, show_spinner=False)
def behaviour(customer_id: int, days: int = 120) -> pd.DataFrame:
    """The customer's last `days` of daily behaviour: balances, salary, and the risk flags of each day
    (gambling, failed debits, lending-app use, ATM spike = more than 3× their average daily ATM cash)."""
    return frame("""
        WITH d AS (
            SELECT day, balance, savings_balance, salary_in, gambling_out, failed_debits, lending_app_in,
                   lending_app_out, atm_out, essential_out, discretionary_out,
                   avg(atm_out) OVER () AS atm_avg
            FROM daily_balances
            WHERE customer_id = :id
              AND day > (SELECT max(day) FROM daily_balances WHERE customer_id = :id) - :days)
        SELECT day, balance, savings_balance, salary_in, gambling_out, failed_debits, lending_app_in,
               lending_app_out, atm_out, essential_out, discretionary_out,
               (atm_out > 3 * atm_avg AND atm_out > 0) AS atm_spike
        FROM d ORDER BY day""", id=customer_id, days=days)


@st.cache_data(ttl=TTL_LONG, show_spinner=False)
def segment_averages(as_of: date, version: str) -> pd.DataFrame:
    """Per segment at this scoring: customers, average PD, score, exposure, expected loss, income, tenure,
    and the share of High or Critical customers."""
    return frame("""
        SELECT c.segment, count(*) AS customers, avg(rs.pd) AS pd, avg(rs.score) AS score,
               avg(rs.exposure) AS exposure, avg(rs.expected_loss) AS expected_loss,
               avg(c.monthly_income)::float8 AS monthly_income, avg(c.tenure_months)::float8 AS tenure_months,
               avg((rs.tier IN ('High', 'Critical'))::int)::float8 AS high_risk_share
        FROM risk_scores rs JOIN customers c ON c.customer_id = rs.customer_id
        WHERE rs.as_of = :as_of AND rs.model_version = :v GROUP BY c.segment""", as_of=as_of, v=version)


@st.cache_data(ttl=TTL_SHORT, show_spinner=False)
def interventions(customer_id: int) -> pd.DataFrame:
    """The customer's interventions, newest first, with officer, SLA, contact result and settled payment outcome."""
    return frame("""
        SELECT i.intervention_id, i.business_date, i.created_at, i.intervention_type, i.channel, i.status, i.due_at,
               i.pd_at_action, u.username AS assigned_to, cb.username AS created_by, o.outcome,
               o.responded_at, i.payment_outcome, i.outcome_due_date, i.settled_on, i.notes, i.row_version
        FROM interventions i
        LEFT JOIN users u ON u.user_id = i.assigned_to
        LEFT JOIN users cb ON cb.user_id = i.created_by
        LEFT JOIN intervention_outcomes o ON o.intervention_id = i.intervention_id
        WHERE i.customer_id = :id ORDER BY i.business_date DESC, i.created_at DESC LIMIT 100""", id=customer_id)


def peer_row(as_of: date | None, version: str | None, segment: str) -> dict:
    """The segment's averages at this scoring ({} when there are no scores)."""
    if as_of is None or version is None:
        return {}
    peers = segment_averages(as_of, version)
    match = peers[peers["segment"] == segment]
    return match.iloc[0].to_dict() if len(match) else {}
