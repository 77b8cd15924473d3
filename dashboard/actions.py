"""Acting on a customer or an intervention from a page; every write goes through predelinquency.operations."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import streamlit as st
from sqlalchemy import Connection

from dashboard import ui
from dashboard.queries import core
from dashboard.queries import customer as customer_queries
from predelinquency.errors import PdeError
from predelinquency.operations.accounts import User
from predelinquency.operations.assignments import assign_customer
from predelinquency.operations.interventions import (
    CHANNELS,
    INTERVENTION_TYPES,
    TRANSITIONS,
    create_intervention,
    update_intervention_status,
)
from predelinquency.operations.outcomes import OUTCOMES, PREVENTING_OUTCOMES, record_outcome
from predelinquency.operations.permissions import allowed
from predelinquency.operations.snoozes import MAX_SNOOZE_DAYS, snooze_customer

log = logging.getLogger("predelinquency.dashboard")
DEFAULT_CHANNEL = {"soft_reminder": "sms", "agent_call": "phone", "restructuring_offer": "branch",
                   "payment_holiday": "phone", "financial_counselling": "branch"}
NOBODY = -1


def current_user() -> User:
    """The logged-in user of this browser session."""
    return st.session_state["user"]


def perform(write: Callable[[Connection], Any], success: Callable[[Any], str], reset: tuple[str, ...] = ()) -> None:
    """Runs one write in its own transaction; on success keeps a message, forgets the widget state named in
    `reset` (e.g. a table selection that would now point at another row; see ui.widget_key) and reloads the
    page; otherwise
    shows why it was refused (in the officer's terms) and leaves the form as it was."""
    try:
        with core.engine().begin() as conn:
            result = write(conn)
    except Exception as exc:
        if not isinstance(exc, PdeError):
            log.exception("dashboard write failed")
        st.error(ui.user_message(exc), icon=":material/block:")
        return
    core.invalidate()
    for name in reset:
        ui.reset_widget(name)
    ui.flash("success", success(result))
    st.rerun()


def _assignable(user: User) -> dict[int, str]:
    """user_id -> display name of the people this user may assign work to (themselves only, for officers)."""
    people = core.officers()
    if not allowed(user, "assign_any"):
        people = people[people["user_id"] == user.user_id]
    return {int(r.user_id): f"{r.full_name} ({r.username})" for r in people.itertuples()}


def customer_actions(customer_id: int, name: str, recommended: str | None, cooldown_until: Any, key: str,
                     reset: tuple[str, ...] = ()) -> None:
    """Three tabs acting on one customer: create an intervention, assign to an officer, snooze with a reason."""
    user = current_user()
    settings = core.settings()
    t_int, t_assign, t_snooze = st.tabs([":material/add_task: Create intervention", ":material/person_add: Assign",
                                         ":material/snooze: Snooze"])
    people = _assignable(user)
    with t_int:
        if cooldown_until is not None:
            st.warning(f"{name} is in the contact cool-down ({settings.operations.contact_cooldown_days} days) "
                       f"until {ui.when(cooldown_until)}: a new contact will be refused until then.",
                       icon=":material/timer:")
        default = recommended if recommended in INTERVENTION_TYPES else "soft_reminder"
        with st.form(f"{key}-intervention", border=False):
            c1, c2, c3 = st.columns(3)
            itype = c1.selectbox("Intervention type", INTERVENTION_TYPES, index=INTERVENTION_TYPES.index(default),
                                 format_func=ui.label)
            channel = c2.selectbox("Channel", CHANNELS, index=CHANNELS.index(DEFAULT_CHANNEL.get(default, "sms")),
                                   format_func=ui.channel)
            options = [NOBODY, *people]
            assignee = c3.selectbox("Assign to", options, format_func=lambda u: "Nobody yet" if u == NOBODY
                                    else people[u], index=options.index(user.user_id) if user.user_id in people else 0)
            notes = st.text_input("Notes", max_chars=2000, placeholder="What was agreed, what to say")
            submitted = st.form_submit_button("Create intervention", type="primary")
        if submitted:
            perform(lambda conn: create_intervention(
                conn, user, customer_id, itype, channel, settings, notes=notes or None,
                assigned_to=None if assignee == NOBODY else assignee),
                lambda r: f"Intervention {r['intervention_id']} ({ui.label(itype)} by {channel}) created for "
                          f"{name}; due {ui.when(r['due_at'])}.", reset)
    with t_assign:
        holder = customer_queries.profile(customer_id)
        if holder.get("officer_id") not in (None, user.user_id) and not allowed(user, "assign_any"):
            st.info(f"{name} is assigned to {holder['officer']}: only a manager can move them to another officer.")
        elif not people:
            st.info("You can only assign customers to yourself, and your account is not an officer account.")
        else:
            with st.form(f"{key}-assign", border=False):
                c1, c2 = st.columns([1, 2])
                officer = c1.selectbox("Officer", list(people), format_func=people.get)
                reason = c2.text_input("Reason", max_chars=500, placeholder="Optional: why this officer")
                submitted = st.form_submit_button("Assign", type="primary")
            if submitted:
                perform(lambda conn: assign_customer(conn, user, customer_id, officer, reason=reason or None),
                        lambda r: f"{name} is now assigned to {r['officer']}.", reset)
    with t_snooze:
        today = date.today()
        with st.form(f"{key}-snooze", border=False):
            c1, c2 = st.columns([1, 2])
            until = c1.date_input("Snooze until", value=today + timedelta(days=14), min_value=today + timedelta(days=1),
                                  max_value=today + timedelta(days=MAX_SNOOZE_DAYS))
            reason = c2.text_input("Reason", max_chars=500,
                                   placeholder="Required, e.g. customer already in a hardship plan")
            submitted = st.form_submit_button("Snooze", type="primary")
        if submitted:
            perform(lambda conn: snooze_customer(conn, user, customer_id, until, reason),
                    lambda r: f"{name} is snoozed until {r['until']:%d %b %Y}: hidden from the queue until then.",
                    reset)


def outcome_form(intervention_id: int, created_at: Any, key: str, reset: tuple[str, ...] = ()) -> None:
    """Records what happened after an intervention (which completes it)."""
    user = current_user()
    with st.form(f"{key}-outcome", border=False):
        c1, c2, c3 = st.columns(3)
        outcome = c1.selectbox("Outcome", OUTCOMES, format_func=ui.label)
        responded = c2.date_input("Responded on", value=date.today(), max_value=date.today(),
                                  min_value=created_at.date() if isinstance(created_at, datetime) else None)
        amount = c3.number_input(f"Amount recovered ({ui.CURRENCY})", min_value=0.0, step=50.0, format="%.2f")
        notes = st.text_input("Notes", max_chars=2000)
        submitted = st.form_submit_button("Record outcome", type="primary")
    if submitted:
        # a response dated today is recorded at the current time; earlier days at noon UTC
        when = None if responded >= date.today() else datetime.combine(responded, time(12), tzinfo=UTC)
        if when is not None and isinstance(created_at, datetime) and when < created_at:
            when = created_at
        perform(lambda conn: record_outcome(conn, user, intervention_id, outcome, responded_at=when,
                                            amount_recovered=amount, notes=notes or None),
                lambda r: f"Outcome '{ui.label(outcome)}' recorded for intervention {intervention_id}"
                          + (" — default prevented." if r["prevented_default"] else "."), reset)
    st.caption("Paid, promise to pay and restructured count as a prevented default: "
               + ", ".join(ui.label(o) for o in sorted(PREVENTING_OUTCOMES)) + ".")


def status_buttons(intervention_id: int, status: str, row_version: int, key: str, reset: tuple[str, ...] = ()) -> None:
    """Buttons for the status changes allowed from `status` (optimistic: refused if someone changed it meanwhile)."""
    user = current_user()
    targets = TRANSITIONS.get(status, ())
    cols = st.columns(max(len(targets), 1) + 3)
    for col, target in zip(cols, targets, strict=False):
        text = {"in_progress": "Mark in progress", "open": "Reopen", "cancelled": "Cancel intervention"}[target]
        if col.button(text, key=f"{key}-{target}", width="stretch"):
            perform(lambda conn, target=target: update_intervention_status(conn, user, intervention_id, target,
                                                                          row_version),
                    lambda r: f"Intervention {intervention_id} is now {ui.label(r['status']).lower()}.", reset)

