"""Data Management: background jobs (generate, retrain, nightly, advance the bank) with progress and logs, run
history, CSV upload."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard import actions, jobs, ui, upload
from dashboard.queries import core
from dashboard.queries import monitor as mq
from predelinquency.operations.permissions import allowed

ui.header("Data Management", "Load bank files, generate demo data, move it forward, retrain and score — jobs run in "
                             "the background.")
ui.show_flash()
POLL_SECONDS = 3
settings = core.settings()


def start(kind: str, argv: list[str]) -> None:
    running = mq.runs(kind, limit=1)
    if not running.empty and mq.job_is_running(kind):
        r = running.iloc[0]
        st.warning(f"A {kind} job is already running (run {r['run_id']}, started by {r['triggered_by']} at "
                   f"{ui.when(r['started_at'])}); wait for it to finish.", icon=":material/hourglass_top:")
        return
    try:
        launched = jobs.launch(core.engine(), settings, actions.current_user(), kind, argv)
    except Exception as exc:
        st.error(ui.user_message(exc), icon=":material/block:")
        return
    st.session_state[f"job_{kind}"] = launched
    st.toast(f"{jobs.JOB_KINDS[kind].title}: started in the background.", icon=":material/rocket_launch:")


@st.fragment(run_every=POLL_SECONDS)
@ui.guarded
def job_status(kind: str) -> None:
    """The job's latest run: progress bar, message and log, refreshed in place while it runs."""
    launched: jobs.Launched | None = st.session_state.get(f"job_{kind}")
    latest = mq.runs(kind, limit=1)
    row = latest.iloc[0] if not latest.empty else None
    ours = row is not None and launched is not None and row["created_at"] >= launched.started_at - pd.Timedelta(
        seconds=5)
    if launched is not None and not ours:
        code = jobs.exit_status(launched.pid)
        if code is None:
            st.progress(0.0, text="Starting…")
        else:
            output = jobs.tail(launched.log_path)
            why = jobs.refusal(output)
            if why:  # the command refused before it started (e.g. advancing a bank `pde generate` did not make)
                st.error(f"{jobs.JOB_KINDS[kind].title} was refused (exit status {code}): {why}",
                         icon=":material/block:")
            else:
                st.error(f"The job ended (exit status {code}) before it recorded a run. Its output:",
                         icon=":material/error:")
            st.code(output[-4000:] or "(no output)", language=None)
        return
    if row is None:
        st.caption("Never run yet.")
        return
    detail = mq.run_detail(int(row["run_id"]))
    status = detail["status"]
    if status in ("running", "queued"):
        st.progress(float(detail["progress"]), text=f"{detail['message'] or 'Running…'} "
                    f"({detail['progress'] * 100:.0f}%)")
    elif status == "succeeded":
        st.success(f"Run {row['run_id']} succeeded {ui.when(detail['finished_at'])} "
                   f"(took {ui.duration(row['seconds'])}).", icon=":material/check_circle:")
        if st.session_state.get(f"refreshed_{kind}") != row["run_id"]:
            st.session_state[f"refreshed_{kind}"] = row["run_id"]
            core.invalidate()  # new data, model or scores: every page should read them now
    else:
        st.error(f"Run {row['run_id']} failed: {detail['error'] or 'no error text'}", icon=":material/error:")
    text = detail["log"] or ""
    if launched is not None and ours and status != "running":
        text = text or jobs.tail(launched.log_path)
    with st.expander("Log", expanded=status in ("running", "failed")):
        st.code(text[-6000:] or "(empty)", language=None)


def job_panels() -> None:
    user = actions.current_user()
    cols = st.columns(3)
    for col, kind in zip(cols, ("generate", "train", "nightly"), strict=True):
        spec = jobs.JOB_KINDS[kind]
        with col, st.container(border=True):
            st.markdown(f"**{spec.title}**")
            st.caption(spec.description)
            may = allowed(user, spec.permission)
            if kind == "generate":
                with st.form("generate", border=False):
                    c1, c2, c3 = st.columns(3)
                    n = c1.number_input("Customers", 100, 2_000_000, 2_000, step=500)
                    days = c2.number_input("Days", 120, 730, 180, step=30)
                    seed = c3.number_input("Seed", 0, 2**31 - 1, 1)
                    reset = st.checkbox("Replace existing customers, scores and interventions (--reset)")
                    go = st.form_submit_button("Generate", type="primary", disabled=not may,
                                               icon=":material/play_arrow:")
                if go:
                    start(kind, jobs.command("generate", int(n), int(days), int(seed), reset))
            elif st.button(spec.title, key=f"go_{kind}", type="primary", disabled=not may,
                           icon=":material/play_arrow:"):
                start(kind, jobs.command(kind))
            if not may:
                st.caption(":material/lock: Managers and admins only.")
            job_status(kind)


NIGHTLY_LABELS = {"last": "After the last day", "every": "Every day", "none": "Never"}


def advance_panel() -> None:
    """Advance the synthetic bank N days, as a background job like generation."""
    spec = jobs.JOB_KINDS["advance"]
    may = allowed(actions.current_user(), spec.permission)
    with st.container(border=True):
        st.markdown(f"**{spec.title} N days**")
        st.caption(spec.description + " It only works on a bank made by `pde generate` (or *Generate* above): a "
                   "real bank's data moves forward by ingesting its files, so there the job is refused and the "
                   "reason is shown below.")
        c1, c2 = st.columns([1, 1.3])
        with c1:
            with st.form("advance", border=False):
                a, b = st.columns(2)
                days = a.number_input("Days", 1, 366, 7, step=1)
                nightly = b.selectbox("Nightly scoring", jobs.NIGHTLY_CHOICES, format_func=NIGHTLY_LABELS.get)
                work = st.checkbox("The simulated team works each day's plan (--work-plan: the nightly then runs "
                                   "every day, to draw each day's plan)")
                go = st.form_submit_button("Advance", type="primary", disabled=not may, icon=":material/fast_forward:")
            if go:
                start("advance", jobs.command("advance", days=int(days), nightly="every" if work else nightly,
                                              work_plan=work))
            if not may:
                st.caption(":material/lock: Managers and admins only.")
        with c2:
            job_status("advance")


@ui.guarded
def history() -> None:
    st.markdown("#### Run history")
    runs = mq.runs(None, limit=30)
    if runs.empty:
        ui.empty("No job has run yet.")
        return
    event = st.dataframe(ui.styled(pd.DataFrame({
        "Run": runs["run_id"], "Kind": runs["kind"].str.capitalize(),
        "Status": runs["status"], "Progress": runs["progress"] * 100,
        "Started": runs["started_at"], "Finished": runs["finished_at"],
        "Duration": runs["seconds"].map(ui.duration), "By": runs["triggered_by"],
        "Message": runs["error"].fillna(runs["message"])}), {"Status": ui.STATUS_COLORS}),
        hide_index=True, on_select="rerun", selection_mode="single-row", key="runs_table", column_config={
            "Progress": st.column_config.ProgressColumn(format="%.0f%%", min_value=0, max_value=100),
            "Started": st.column_config.DatetimeColumn(format="D MMM YYYY HH:mm:ss"),
            "Finished": st.column_config.DatetimeColumn(format="D MMM YYYY HH:mm:ss")})
    rows = event.selection.rows if event else []
    if rows:
        d = mq.run_detail(int(runs.iloc[rows[0]]["run_id"]))
        with st.container(border=True):
            st.markdown(f"**Run {d['run_id']}** · {d['kind']} · {d['status']} · parameters `{d['params']}`")
            if d["stages"]:
                st.dataframe(pd.DataFrame(d["stages"]), hide_index=True)
            if d["error"]:
                st.error(d["error"])
            st.code((d["log"] or "(empty log)")[-8000:], language=None)


@ui.guarded
def page() -> None:
    job_panels()
    advance_panel()
    history()
    st.markdown("#### Upload bank files (CSV)")
    if allowed(actions.current_user(), "upload_data"):
        upload.panel()
    else:
        st.caption(":material/lock: Only managers and admins can upload bank data.")


page()
