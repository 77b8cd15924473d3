"""The officers' dashboard: log-in, navigation across the seven pages, and the shared sidebar.

Served by `pde dashboard`; reads DATABASE_URL (or the embedded server under PDE_DATA_DIR) from the settings.
"""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # `streamlit run` puts only this folder on the path; pages import dashboard.*
    sys.path.insert(0, str(ROOT))

import streamlit as st  # noqa: E402

from dashboard import ui  # noqa: E402
from dashboard.queries import core  # noqa: E402
from predelinquency.operations.users import GENERIC_LOGIN_ERROR, AuthError, login  # noqa: E402

PAGES = {
    "Work": [
        st.Page("app_pages/action_center.py", title="Action Center", icon=":material/priority_high:", default=True),
        st.Page("app_pages/customer_deep_dive.py", title="Customer Deep Dive", icon=":material/person_search:"),
        st.Page("app_pages/interventions_tracker.py", title="Interventions Tracker", icon=":material/task_alt:"),
    ],
    "Portfolio": [
        st.Page("app_pages/risk_overview.py", title="Risk Overview", icon=":material/monitoring:"),
        st.Page("app_pages/realtime_monitor.py", title="Real-time Monitor", icon=":material/sensors:"),
    ],
    "Platform": [
        st.Page("app_pages/model_performance.py", title="Model Performance", icon=":material/model_training:"),
        st.Page("app_pages/data_management.py", title="Data Management", icon=":material/database:"),
    ],
}
ROLE_LABEL = {"officer": "Risk officer", "manager": "Risk manager", "admin": "Administrator"}


def login_page() -> None:
    """The log-in form: username and password, checked against the users table (failures limited and logged)."""
    _, middle, _ = st.columns([1, 1.5, 1])
    with middle:
        st.space("medium")
        st.title("Pre-Delinquency Engine", anchor=False)
        st.caption("Early-warning worklist for retail credit risk. "
                   "Sign in with the account your administrator gave you.")
        with st.form("login"):
            username = st.text_input("Username", autocomplete="username")
            password = st.text_input("Password", type="password", autocomplete="current-password")
            submitted = st.form_submit_button("Log in", type="primary", width="stretch")
        if submitted:
            if not username.strip() or not password:
                st.error("Enter your username and your password.")
                return
            try:
                user = login(core.engine(), username.strip(), password, core.settings())
            except AuthError:
                # one message for every refusal (unknown user, wrong password, delay, deactivated): no oracle
                st.error(f"{GENERIC_LOGIN_ERROR.capitalize()}.", icon=":material/lock:")
                return
            except Exception as exc:
                st.error(ui.user_message(exc), icon=":material/error:")
                return
            st.session_state["user"] = user
            st.rerun()


def log_out() -> None:
    """Forgets the logged-in user and everything this browser session kept."""
    for key in list(st.session_state):
        del st.session_state[key]


@ui.guarded
def sidebar_status() -> None:
    """The business date, latest scoring date and champion model, under the navigation."""
    ctx = core.context()
    st.caption(":material/today: " + ui.business_date_line(core.business_date(), date.today()),
               help="The engine's today: the day after the latest data day. Cool-downs, SLAs, snoozes and "
                    "today's plan count from it; audit rows keep the wall clock's time.")
    st.caption(f":material/event: Latest scoring: **{ui.when(ctx.as_of)}**")
    st.caption(f":material/verified: Champion model: **{ctx.champion or 'none yet'}**")


def sidebar(user) -> None:
    with st.sidebar:
        st.markdown(f"**{user.full_name or user.username}**  \n{ROLE_LABEL.get(user.role, user.role)} · "
                    f"`{user.username}`")
        sidebar_status()
        st.button("Log out", icon=":material/logout:", on_click=log_out, width="stretch")


def main() -> None:
    st.set_page_config(page_title="Pre-Delinquency Engine", page_icon=":material/shield:", layout="wide")
    user = st.session_state.get("user")
    if user is None:
        page = st.navigation([st.Page(login_page, title="Log in", icon=":material/login:")], position="hidden")
    else:
        page = st.navigation(PAGES)
        sidebar(user)
    page.run()


main()
