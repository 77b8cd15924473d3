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
from predelinquency.domain.vocabulary import CONTACT_CHANNELS, CONTACT_RESULTS, INTERVENTION_TYPES
from predelinquency.errors import HeldOut, PdeError
from predelinquency.operations.accounts import User
from predelinquency.operations.assignments import assign_customer
from predelinquency.operations.interventions import TRANSITIONS, create_intervention, update_intervention_status
from predelinquency.operations.outcomes import record_outcome
from predelinquency.operations.permissions import allowed
from predelinquency.operations.snoozes import MAX_SNOOZE_DAYS, snooze_customer

log = logging.getLogger("predelinquency.dashboard")
NOBODY = -1


def current_user() -> User:
    """The logged-in user of this browser session."""
    return st.session_state["user"]


def perform(write: Callable[[Connection], Any], success: Callable[[Any], str], reset: tuple[str, ...] = (),
            refused: Callable[[Exception], bool] | None = None) -> None:
    """Runs one write in its own transaction; on success keeps a message, forgets the widget state named in
    `reset` (e.g. a table selection that would now point at another row; see ui.widget_key) and reloads the
    page; otherwise shows why it was refused (in the officer's terms, or by `refused` when it returns True)
    and leaves the form as it was."""
    try:
        with core.engine().begin() as conn:
            result = write(conn)
    except Exception as exc:
        if not isinstance(exc, PdeError):
            log.exception("dashboard write failed")
        if refused is None or not refused(exc):
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


def _intervention_tab(customer_id: int, name: str, recommended: str | None, cooldown_until: Any, key: str,
                      people: dict[int, str], reset: tuple[str, ...]) -> None:
    """The form creating an intervention; when the customer turns out to be in the control group, a manager
    may release them with a reason and contact them, an officer is only told they cannot be contacted now."""
    user = current_user()
    settings = core.settings()
    release_key = f"{key}-release"
    if cooldown_until is not None:
        st.warning(f"{name} is in the contact cool-down ({settings.operations.contact_cooldown_days} days) "
                   f"until {ui.when(cooldown_until)}: a new contact will be refused until then.",
                   icon=":material/timer:")
    default = recommended if recommended in INTERVENTION_TYPES else "soft_reminder"
    with st.form(f"{key}-intervention", border=False):
        c1, c2, c3 = st.columns(3)
        itype = c1.selectbox("Intervention type", INTERVENTION_TYPES, index=INTERVENTION_TYPES.index(default),
                             format_func=ui.label)
        channel = c2.selectbox("Channel", CONTACT_CHANNELS,
                               index=CONTACT_CHANNELS.index(settings.operations.action_channels[default][0]),
                               format_func=ui.channel)
        options = [NOBODY, *people]
        assignee = c3.selectbox("Assign to", options, format_func=lambda u: "Nobody yet" if u == NOBODY
                                else people[u], index=options.index(user.user_id) if user.user_id in people else 0)
        notes = st.text_input("Notes", max_chars=2000, placeholder="What was agreed, what to say")
        submitted = st.form_submit_button("Create intervention", type="primary")
    request = {"type": itype, "channel": channel, "notes": notes or None,
               "assigned_to": None if assignee == NOBODY else assignee}

    def create(req: dict[str, Any], release_reason: str | None = None) -> Callable[[Connection], Any]:
        return lambda conn: create_intervention(conn, user, customer_id, req["type"], req["channel"], settings,
                                                notes=req["notes"], assigned_to=req["assigned_to"],
                                                release_reason=release_reason)

    def created(req: dict[str, Any]) -> Callable[[Any], str]:
        def message(r: Any) -> str:
            st.session_state.pop(release_key, None)
            return (f"Intervention {r['intervention_id']} ({ui.label(req['type'])} by {ui.channel(req['channel'])}) "
                    f"created for {name}; due {ui.when(r['due_at'])}.")
        return message

    def held_out_refusal(exc: Exception) -> bool:
        if not isinstance(exc, HeldOut):
            return False
        if allowed(user, "manage_holdout"):
            st.session_state[release_key] = request
        else:  # officers are never told who is in the control group
            st.error(f"{name} cannot be contacted today. Ask a manager if you think they should be.",
                     icon=":material/block:")
        return True

    if submitted:
        st.session_state.pop(release_key, None)
        perform(create(request), created(request), reset, refused=held_out_refusal)
    pending = st.session_state.get(release_key)
    if pending is not None and allowed(user, "manage_holdout"):
        st.warning(f"{name} is in the control group that measures what contacts prevent: contacting them would "
                   "spoil the comparison. You can release them with a reason (audited); they then leave the "
                   "measurement.", icon=":material/science:")
        with st.form(f"{key}-release-form", border=False):
            reason = st.text_input("Reason for releasing from the control group", max_chars=2000,
                                   placeholder="Required, e.g. the customer called us asking for help")
            go = st.form_submit_button(f"Release and create the {ui.label(pending['type']).lower()}", type="primary")
        if go:
            perform(create(pending, reason), created(pending), reset)


def customer_actions(customer_id: int, name: str, recommended: str | None, cooldown_until: Any, key: str,
                     reset: tuple[str, ...] = ()) -> None:
    """Three tabs acting on one customer: create an intervention, assign to an officer, snooze with a reason."""
    user = current_user()
    t_int, t_assign, t_snooze = st.tabs([":material/add_task: Create intervention", ":material/person_add: Assign",
                                         ":material/snooze: Snooze"])
    people = _assignable(user)
    with t_int:
        _intervention_tab(customer_id, name, recommended, cooldown_until, key, people, reset)
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
        today = core.business_date()
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
    """Records the contact's result (which completes the intervention)."""
    user = current_user()
    with st.form(f"{key}-outcome", border=False):
        c1, c2 = st.columns(2)
        outcome = c1.selectbox("Contact result", CONTACT_RESULTS, format_func=ui.label)
        responded = c2.date_input("Responded on", value=date.today(), max_value=date.today(),
                                  min_value=created_at.date() if isinstance(created_at, datetime) else None,
                                  help="The calendar day the customer answered (kept for the audit trail).")
        notes = st.text_input("Notes", max_chars=2000, placeholder="What was said or agreed")
        submitted = st.form_submit_button("Record contact result", type="primary")
    if submitted:
        # a response dated today is recorded at the current time; earlier days at noon UTC
        when = None if responded >= date.today() else datetime.combine(responded, time(12), tzinfo=UTC)
        if when is not None and isinstance(created_at, datetime) and when < created_at:
            when = created_at
        perform(lambda conn: record_outcome(conn, user, intervention_id, outcome, responded_at=when,
                                            notes=notes or None),
                lambda r: f"Contact result '{ui.label(outcome)}' recorded for intervention {intervention_id}.", reset)
    st.caption("A contact result is what happened on the call or message. Whether it prevented a missed payment "
               "is measured from the payments that follow, against the control group (see the effects above).")


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

