"""The engine, the settings, the SQL runner and the scoring context every page starts from."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import pandas as pd
import streamlit as st
from sqlalchemy import Engine, text

from predelinquency.db import calendar
from predelinquency.db.engine import check_connection, get_engine
from predelinquency.settings import Settings, get_settings

# how long cached reads live: pages refresh on their own after this, writes clear the caches at once
TTL_SHORT = 30
TTL = 120
TTL_LONG = 600
# a page never sends more rows than this to one widget
MAX_ROWS = 1_000


@st.cache_resource(show_spinner=False)
def engine() -> Engine:
    """The process's one engine, as the application role (db/engine.py), checked on first use."""
    eng = get_engine(get_settings(), role="app")
    check_connection(eng)
    return eng


def settings() -> Settings:
    """The process-wide settings."""
    return get_settings()


def frame(sql: str, **params: Any) -> pd.DataFrame:
    """The rows of one SELECT as a DataFrame (columns named as in the query, even when empty)."""
    with engine().connect() as conn:
        result = conn.execute(text(sql), params)
        return pd.DataFrame(result.fetchall(), columns=list(result.keys()))


def row(sql: str, **params: Any) -> dict[str, Any]:
    """The first row of one SELECT as a dict ({} when there is none)."""
    with engine().connect() as conn:
        r = conn.execute(text(sql), params).mappings().first()
    return dict(r) if r else {}


@dataclass(frozen=True)
class Context:
    """What the pages show by default: the champion model and its latest scoring date."""

    champion: str | None
    model_version: str | None  # the version whose scores are shown (the champion's when it has any)
    as_of: date | None
    champion_created: Any = None

    @property
    def has_scores(self) -> bool:
        return self.as_of is not None and self.model_version is not None


@st.cache_data(ttl=TTL_SHORT, show_spinner=False)
def context() -> Context:
    """The champion model and the newest as_of it scored (falling back to the newest scores of any model)."""
    champ = row("SELECT version, created_at FROM model_versions WHERE status = 'champion'")
    latest: dict[str, Any] = {}
    if champ:
        latest = row("SELECT as_of, model_version FROM risk_scores WHERE model_version = :v "
                     "ORDER BY as_of DESC LIMIT 1", v=champ["version"])
    if not latest:
        latest = row("SELECT as_of, model_version FROM risk_scores ORDER BY as_of DESC, created_at DESC LIMIT 1")
    return Context(champ.get("version"), latest.get("model_version"), latest.get("as_of"), champ.get("created_at"))


@st.cache_data(ttl=TTL_SHORT, show_spinner=False)
def business_date() -> date:
    """The engine's today: the day after the latest data day (the calendar's today before any data)."""
    with engine().connect() as conn:
        return calendar.business_date(conn)


@st.cache_data(ttl=TTL, show_spinner=False)
def segments() -> list[str]:
    """Customer segments present, alphabetically."""
    return frame("SELECT DISTINCT segment FROM customers ORDER BY 1")["segment"].tolist()


@st.cache_data(ttl=TTL, show_spinner=False)
def officers() -> pd.DataFrame:
    """Active officers and managers customers can be assigned to: user_id, username, full_name, role."""
    return frame("SELECT user_id, username, coalesce(full_name, username) AS full_name, role FROM users "
                 "WHERE is_active AND role IN ('officer', 'manager') ORDER BY username")


@st.cache_data(ttl=TTL, show_spinner=False)
def counts() -> dict[str, int]:
    """Rows in the tables that decide what a page can show (estimates are not good enough on empty tables)."""
    r = row("SELECT (SELECT count(*) FROM customers) AS customers, "
            "(SELECT count(*) FROM model_versions) AS models, "
            "(SELECT count(*) FROM interventions) AS interventions, "
            "(SELECT count(*) FROM contact_plan) AS plans, "
            "(SELECT count(*) FROM batch_runs) AS runs")
    return {k: int(v or 0) for k, v in r.items()}


def invalidate() -> None:
    """Forgets every cached read, after a write, so every page shows the change at once."""
    st.cache_data.clear()
