"""Risk Overview reads: portfolio KPIs, tiers, the PD histogram, segments, trends, drivers, rising risk."""

from __future__ import annotations

from datetime import date

import pandas as pd
import streamlit as st
from sqlalchemy import Engine

from dashboard.queries.core import TTL, TTL_SHORT, frame, row
from predelinquency.report.portfolio import portfolio_report
from predelinquency.settings import Settings


def _scope(segment: str | None) -> tuple[str, str]:
    """(join, condition) restricting risk_scores rs to one segment, or nothing."""
    if segment is None:
        return "", ""
    return "JOIN customers c ON c.customer_id = rs.customer_id", "AND c.segment = :seg"


@st.cache_data(ttl=TTL, show_spinner=False)
def kpis(as_of: date, version: str, segment: str | None) -> dict:
    """Customers scored, high-risk and critical counts, average PD, exposure and expected loss."""
    join, cond = _scope(segment)
    return row(f"""
        SELECT count(*) AS customers,
               count(*) FILTER (WHERE rs.tier IN ('High', 'Critical')) AS high_risk,
               count(*) FILTER (WHERE rs.tier = 'Critical') AS critical,
               avg(rs.pd) AS avg_pd, coalesce(sum(rs.exposure), 0) AS exposure,
               coalesce(sum(rs.expected_loss), 0) AS expected_loss
        FROM risk_scores rs {join} WHERE rs.as_of = :as_of AND rs.model_version = :v {cond}""",
               as_of=as_of, v=version, seg=segment)


@st.cache_data(ttl=TTL_SHORT, show_spinner=False)
def contacts(segment: str | None, days: int = 30) -> int:
    """Interventions made (not cancelled) in the last `days` business days."""
    cond = "AND c.segment = :seg" if segment else ""
    return int(row(f"""
        SELECT count(*) AS n FROM interventions i JOIN customers c ON c.customer_id = i.customer_id
        WHERE i.status <> 'cancelled' AND i.business_date > pde_business_date() - CAST(:days AS integer) {cond}""",
                   seg=segment, days=days)["n"])


@st.cache_data(ttl=TTL, show_spinner=False)
def tier_counts(as_of: date, version: str, segment: str | None) -> pd.DataFrame:
    """Customers, exposure and expected loss per tier."""
    join, cond = _scope(segment)
    return frame(f"""
        SELECT rs.tier, count(*) AS customers, sum(rs.exposure) AS exposure, sum(rs.expected_loss) AS expected_loss
        FROM risk_scores rs {join} WHERE rs.as_of = :as_of AND rs.model_version = :v {cond}
        GROUP BY rs.tier""", as_of=as_of, v=version, seg=segment)


@st.cache_data(ttl=TTL, show_spinner=False)
def pd_histogram(as_of: date, version: str, segment: str | None, bins: int = 40) -> pd.DataFrame:
    """PD histogram computed in the database: bin lower and upper edges and customer counts."""
    join, cond = _scope(segment)
    return frame(f"""
        WITH s AS (SELECT rs.pd FROM risk_scores rs {join}
                   WHERE rs.as_of = :as_of AND rs.model_version = :v {cond}),
             m AS (SELECT greatest(ceil(max(pd) * 20) / 20, 0.05) AS hi FROM s)
        SELECT (b - 1) * m.hi / :bins AS lo, b * m.hi / :bins AS hi, n AS customers
        FROM (SELECT least(width_bucket(s.pd, 0, (SELECT hi FROM m), :bins), :bins) AS b, count(*) AS n
              FROM s GROUP BY 1) h CROSS JOIN m ORDER BY b""", as_of=as_of, v=version, seg=segment, bins=bins)


@st.cache_data(ttl=TTL, show_spinner=False)
def segment_concentration(as_of: date, version: str) -> pd.DataFrame:
    """Per segment and tier: customers, exposure, expected loss and average PD."""
    return frame("""
        SELECT c.segment, rs.tier, count(*) AS customers, sum(rs.exposure) AS exposure,
               sum(rs.expected_loss) AS expected_loss, avg(rs.pd) AS avg_pd
        FROM risk_scores rs JOIN customers c ON c.customer_id = rs.customer_id
        WHERE rs.as_of = :as_of AND rs.model_version = :v GROUP BY 1, 2 ORDER BY 1, 2""", as_of=as_of, v=version)


@st.cache_data(ttl=TTL, show_spinner=False)
def risk_trend(as_of: date, segment: str | None, days: int = 30) -> pd.DataFrame:
    """Per scoring date over the last `days`: average PD, high-risk and critical counts, expected loss
    (each date's newest scoring run, whichever model made it)."""
    join, cond = _scope(segment)
    return frame(f"""
        WITH runs AS (
            SELECT DISTINCT ON (as_of) as_of, model_version FROM (
                SELECT as_of, model_version, max(created_at) AS made FROM risk_scores
                WHERE as_of > CAST(:as_of AS date) - :days AND as_of <= :as_of GROUP BY 1, 2) x
            ORDER BY as_of, made DESC)
        SELECT rs.as_of, avg(rs.pd) AS avg_pd, count(*) FILTER (WHERE rs.tier IN ('High', 'Critical')) AS high_risk,
               count(*) FILTER (WHERE rs.tier = 'Critical') AS critical, sum(rs.expected_loss) AS expected_loss,
               count(*) AS customers
        FROM runs JOIN risk_scores rs ON rs.as_of = runs.as_of AND rs.model_version = runs.model_version {join}
        WHERE true {cond} GROUP BY rs.as_of ORDER BY rs.as_of""", as_of=as_of, days=days, seg=segment)


@st.cache_data(ttl=TTL, show_spinner=False)
def top_drivers(as_of: date, version: str, segment: str | None, limit: int = 10) -> pd.DataFrame:
    """The reason codes most often given for High and Critical customers: feature, family, customers,
    average contribution and one example sentence."""
    join, cond = _scope(segment)
    return frame(f"""
        SELECT r ->> 'feature' AS feature, min(r ->> 'family') AS family, count(*) AS customers,
               avg((r ->> 'contribution')::float8) AS avg_contribution, min(r ->> 'text') AS example
        FROM risk_scores rs {join} CROSS JOIN LATERAL jsonb_array_elements(rs.reasons) r
        WHERE rs.as_of = :as_of AND rs.model_version = :v AND rs.tier IN ('High', 'Critical') {cond}
        GROUP BY 1 ORDER BY customers DESC, avg_contribution DESC LIMIT :limit""",
                 as_of=as_of, v=version, seg=segment, limit=limit)


@st.cache_data(ttl=TTL, show_spinner=False)
def rising_risk(as_of: date, version: str, segment: str | None, limit: int = 15) -> pd.DataFrame:
    """Customers whose PD rose most since the previous scoring run."""
    return frame(f"""
        SELECT rs.customer_id, c.full_name, c.segment, rs.prev_tier, rs.tier, rs.prev_pd, rs.pd,
               rs.pd - rs.prev_pd AS pd_change, rs.score_change, rs.reasons -> 0 ->> 'text' AS top_reason
        FROM risk_scores rs JOIN customers c ON c.customer_id = rs.customer_id
        WHERE rs.as_of = :as_of AND rs.model_version = :v AND rs.prev_pd IS NOT NULL
              AND rs.pd > rs.prev_pd {"AND c.segment = :seg" if segment else ""}
        ORDER BY rs.pd - rs.prev_pd DESC LIMIT :limit""", as_of=as_of, v=version, seg=segment, limit=limit)


def weekly_report_file(engine: Engine, settings: Settings, kind: str) -> bytes:
    """The portfolio report of the week ending on the business date: printable HTML, or Excel when kind is xlsx.

    Made when the download is clicked (outside the page's run: it is given the engine and settings, not st)."""
    with engine.connect() as conn:
        report = portfolio_report(conn, settings, None)
    return report.xlsx() if kind == "xlsx" else report.html().encode("utf-8")
