"""Interventions Tracker reads of the closed loop: measured effects (loop.effects), the control group's size and
the last policy backtest (loop.backtest)."""

from __future__ import annotations

from datetime import date
from typing import Any

import streamlit as st

from dashboard.queries.core import TTL_SHORT, engine, settings
from predelinquency.loop.backtest.run import last_backtest as read_last_backtest
from predelinquency.loop.effects import measure_effects
from predelinquency.operations.accounts import User
from predelinquency.operations.holdout import holdout_summary


@st.cache_data(ttl=TTL_SHORT, show_spinner=False)
def effects(since: date | None = None, until: date | None = None) -> dict[str, Any]:
    """What contacts prevent, measured against the control group over plans of business dates since..until."""
    with engine().connect() as conn:
        return measure_effects(conn, settings(), since, until)


def control_group(user: User) -> dict[str, Any]:
    """For managers: the holdout share, who set it and the control group's size now (uncached: it is changed
    on the same page)."""
    with engine().connect() as conn:
        return holdout_summary(conn, user, settings())


@st.cache_data(ttl=TTL_SHORT, show_spinner=False)
def last_backtest() -> dict[str, Any] | None:
    """The latest `pde backtest policy` run: when, by whom, on what, and its figures per policy; None when none."""
    with engine().connect() as conn:
        return read_last_backtest(conn)
