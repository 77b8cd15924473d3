"""Action Center: today's priority queue in three urgency tiers, SLA ageing, cool-down, and acting on a customer."""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial

import pandas as pd
import streamlit as st

from dashboard import actions, ui
from dashboard.queries import core
from dashboard.queries import worklist as wq
from predelinquency.report.xlsx import csv_bytes, workbook

ui.header("Action Center", "Who to contact today, why, and with what — from the champion model's latest scoring.")
ui.show_flash()
settings = core.settings()
cooldown = settings.operations.contact_cooldown_days
capacity = settings.operations.daily_contact_capacity
window = settings.operations.outcome_window_days
STATUSES = (wq.NO_INTERVENTION, "open", "in_progress", "completed", "cancelled")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# the queue's columns, as on screen and in the files officers download (a second sheet of the workbook)
MEANINGS = {
    "Plan": "Yes: in today's contact plan, still to contact",
    "Urgency": "1 act now (expected to miss within days), 2 rising fast, 3 high and stable",
    "Customer": "Customer id", "Name": "Customer's name", "Segment": "Customer segment",
    "Tier": "Risk tier from the PD (raised by policy rules)",
    "PD": "Probability of a missed payment in the next 30 days (calibrated)",
    "Score": "Risk score, 300 (riskiest) to 900", "Δ score": "Change in score since the previous scoring",
    "Recommended action": "The next-best action for the customer (in today's plan: the planned action)",
    "Net benefit": "Expected loss avoided by the action minus its cost",
    "Why": "Today's plan: what the action is expected to do, worth against its cost, and where the estimate "
           "comes from",
    "Expected loss": "PD × exposure × loss given default", "Top reason": "The strongest reason behind the PD",
    "Officer": "Officer the customer is assigned to", "Status": "Status of the customer's latest intervention",
    "Cool-down until": "Business date from which a new contact is allowed (contact cool-down)",
    "Snoozed until": "Hidden from the queue until this date",
}
FORMATS = {"PD": "percent", "Net benefit": "money", "Expected loss": "money"}


@ui.guarded
def queue_cards(ctx: core.Context, show_snoozed: bool) -> None:
    summary = wq.queue_summary(ctx.as_of, ctx.model_version, show_snoozed, window)
    sla = wq.sla_summary()
    cols = st.columns(5)
    for col, urgency in zip(cols[:3], (1, 2, 3), strict=True):
        part = summary[summary["urgency"] == urgency]
        col.metric(ui.URGENCY_SHORT[urgency], ui.num(part["customers"].sum()), border=True,
                   help=ui.URGENCY[urgency] + ". Expected loss " + ui.money(part["expected_loss"].sum())
                   + ", net benefit of acting " + ui.money(part["expected_benefit"].sum()) + ".")
    cols[3].metric("Overdue interventions", ui.num(sla["overdue"]), border=True,
                   delta=f"{sla['approaching']} due within 24 h" if sla["approaching"] else None,
                   delta_color="inverse", delta_arrow="off", help="Open interventions past their SLA (due_at).")
    cols[4].metric("Open within SLA", ui.num(sla["within"]), border=True,
                   help="Open interventions due in more than 24 hours.")


def filters() -> dict:
    with st.container(border=True):
        c1, c2, c3 = st.columns([3, 1, 1], vertical_alignment="bottom")
        urg = c1.pills("Urgency", (1, 2, 3), default=(1, 2, 3), selection_mode="multi",
                       format_func=lambda u: ui.URGENCY[u])
        plan_only = capacity > 0 and c2.toggle(
            "Today's plan only", help="The customers the nightly planned to contact today, by rank, within the "
                                      f"team's {capacity} contacts a day (operations.daily_contact_capacity); "
                                      "those already contacted today drop out.")
        snoozed = c3.toggle("Show snoozed customers",
                            help="Snoozed customers are hidden from the queue until their date.")
        c = st.columns(4)
        tiers = c[0].multiselect("Tier", ui.TIERS[::-1], placeholder="All tiers")
        segs = c[1].multiselect("Segment", core.segments(), format_func=ui.label, placeholder="All segments")
        people = ["All officers", wq.UNASSIGNED, *core.officers()["username"].tolist()]
        officer = c[2].selectbox("Assigned officer", people)
        statuses = c[3].multiselect("Intervention status", STATUSES, placeholder="Any status",
                                    format_func=lambda s: "No intervention" if s == "none" else ui.label(s))
    return {"urgencies": tuple(urg) or (1, 2, 3), "tiers": tuple(tiers), "segments": tuple(segs),
            "officer": None if officer == "All officers" else officer, "statuses": tuple(statuses),
            "show_snoozed": snoozed, "plan_only": plan_only}


def queue_view(df: pd.DataFrame, plan: Mapping[int, dict]) -> pd.DataFrame:
    """The queue's rows as the table shows them (PD in per cent for the bar, ★ for today's plan, whose customers
    show the planned action, its benefit and why)."""
    planned = df["customer_id"].map(lambda c: plan.get(int(c)))
    action = [p["recommended_action"] if p else a for p, a in zip(planned, df["recommended_action"], strict=True)]
    benefit = [p["expected_benefit"] if p else b for p, b in zip(planned, df["expected_benefit"], strict=True)]
    return pd.DataFrame({
        "Plan": planned.map(lambda p: "★" if p else ""),
        "Urgency": df["urgency"].map(ui.URGENCY_SHORT), "Customer": df["customer_id"], "Name": df["full_name"],
        "Segment": df["segment"].map(ui.label), "Tier": df["tier"],
        "PD": df["pd"] * 100, "Score": df["score"],
        "Δ score": pd.to_numeric(df["score_change"], errors="coerce").astype("Int64"),  # blank on a first scoring
        "Recommended action": pd.Series(action, index=df.index).map(ui.label),
        "Net benefit": pd.Series(benefit, index=df.index, dtype="float64"),
        "Why": planned.map(lambda p: (p["why"] or "") if p else ""),
        "Expected loss": df["expected_loss"], "Top reason": df["top_reason"], "Officer": df["officer"].fillna("—"),
        "Status": df["intervention_status"].map(lambda s: "—" if s == "none" else ui.label(s)),
        "Cool-down until": df["contact_allowed_from"].where(df["in_cooldown"].fillna(False).astype(bool)),
        "Snoozed until": df["snoozed_until"],
    })


def queue_file(df: pd.DataFrame, plan: Mapping[int, dict]) -> pd.DataFrame:
    """The same rows and columns for a file: PD as a probability, the plan as Yes."""
    view = queue_view(df, plan)
    return view.assign(Plan=view["Plan"].map({"★": "Yes", "": ""}), PD=df["pd"].to_numpy())


def download_buttons(where: list, what: str, name: str, rows: pd.DataFrame, help: str) -> None:
    """Excel (with the column meanings on a second sheet) and CSV of these rows; each file is made on click."""
    stem = f"{name}-{core.business_date().isoformat()}"
    c1, c2 = where
    c1.download_button(f"{what} (.xlsx)", partial(workbook, [(what, rows)], MEANINGS, FORMATS), f"{stem}.xlsx",
                       XLSX, key=f"dl-{name}-xlsx", help=help, icon=":material/table_view:", on_click="ignore",
                       width="stretch")
    c2.download_button(f"{what} (.csv)", partial(csv_bytes, rows), f"{stem}.csv", "text/csv",
                       key=f"dl-{name}-csv", help=help, icon=":material/download:", on_click="ignore",
                       width="stretch")


def downloads(ctx: core.Context, df: pd.DataFrame, plan: dict | None) -> None:
    """The queue as shown, and today's plan (what 'Today's plan only' shows without other filters), as files."""
    rows = to_contact(plan)
    cols = st.columns(4)
    download_buttons(cols[:2], "Queue", "queue", queue_file(df, rows),
                     "The rows of the table below, with the filters applied; held-out customers are never in it.")
    if plan and plan["ids"]:
        todo = wq.worklist(ctx.as_of, ctx.model_version, (1, 2, 3), (), (), None, (), False, cooldown, window,
                           plan["ids"])
        download_buttons(cols[2:], "Today's plan", "plan", queue_file(todo, rows),
                         "The customers in today's plan still to contact, in the plan's order (highest expected "
                         "net benefit first): the table with only 'Today's plan only' on.")


def to_contact(plan: dict | None) -> dict[int, dict]:
    """Today's plan rows of the customers still to contact (those contacted today drop out of the plan)."""
    return {c: plan["rows"][c] for c in plan["ids"]} if plan else {}


def queue_table(df: pd.DataFrame, plan: Mapping[int, dict]) -> int | None:
    """The queue as a table; returns the customer_id of the selected row."""
    view = queue_view(df, plan)
    money = f"{ui.CURRENCY}%,.0f"
    event = st.dataframe(
        ui.styled(view, {"Tier": ui.TIER_COLORS}), hide_index=True, on_select="rerun", selection_mode="single-row",
        key=ui.widget_key("queue"), height=ui.rows_height(len(view), 420),
        column_config={
            "Plan": st.column_config.TextColumn(width="small", help="★: in today's plan, still to contact"),
            "Customer": st.column_config.NumberColumn(format="%d"),
            "Δ score": st.column_config.NumberColumn(format="%+d", help="Change since the previous scoring"),
            "PD": st.column_config.ProgressColumn("PD", format="%.1f%%", min_value=0, max_value=100),
            "Net benefit": st.column_config.NumberColumn(format=money, help="Expected loss avoided minus cost"),
            "Expected loss": st.column_config.NumberColumn(format=money, help="PD × exposure × LGD"),
            "Cool-down until": st.column_config.DateColumn(format="D MMM YYYY", help="Business date"),
            "Snoozed until": st.column_config.DateColumn(format="D MMM YYYY"),
            "Top reason": st.column_config.TextColumn(width="large"),
            "Why": st.column_config.TextColumn(width="large", help=MEANINGS["Why"]),
        })
    rows = event.selection.rows if event else []
    return int(df.iloc[rows[0]]["customer_id"]) if rows else None


def selected_panel(r: pd.Series, planned: dict | None) -> None:
    action = planned["recommended_action"] if planned else r["recommended_action"]
    benefit = planned["expected_benefit"] if planned else r["expected_benefit"]
    with st.container(border=True):
        c1, c2 = st.columns([3, 1])
        c1.subheader(f"{r['full_name']} · customer {r['customer_id']}", anchor=False)
        c1.markdown(f"{ui.tier_badge(r['tier'])} PD **{ui.pct(r['pd'])}** · score **{r['score']}** · "
                    f"{ui.URGENCY.get(int(r['urgency']), '')}  \n"
                    f"{'Planned today' if planned else 'Recommended'}: **{ui.label(action)}**"
                    + (f" by {ui.channel(planned['channel'])}" if planned and planned["channel"] else "")
                    + f" — expected net benefit **{ui.money(benefit)}** on an expected loss of "
                    f"**{ui.money(r['expected_loss'])}**  \nRisk: {r['top_reason'] or '—'}"
                    + (f"  \nWhy this action: {planned['why']}" if planned and planned["why"] else ""))
        if c2.button("Open deep dive", icon=":material/person_search:", width="stretch"):
            st.session_state["deep_dive_customer"] = int(r["customer_id"])
            st.switch_page("app_pages/customer_deep_dive.py")
        cool = r["contact_allowed_from"] if bool(r["in_cooldown"]) else None
        actions.customer_actions(int(r["customer_id"]), r["full_name"], action, cool,
                                 key=f"ac-{r['customer_id']}", reset=("queue",))


def plan_caption(plan: dict) -> str:
    """Today's plan in a sentence: who is left to contact, and the contacts made against the team's capacity."""
    left, made, cap = len(plan["ids"]), plan["made_today"], plan["capacity"]
    day = ui.when(plan["business_date"])
    if not plan["planned"]:
        return (f"No plan for {day} yet: the nightly draws today's plan when it scores the day. "
                f"{made:,} of the team's {cap:,} contacts a day made so far.")
    if not left:
        return (f"Today's plan ({day}) is done: all {plan['planned']:,} planned customers contacted; {made:,} of the "
                f"team's {cap:,} contacts a day made so far.")
    return (f"Today's plan: **{left:,}** customers to contact (★), ranked by the nightly for {day} by expected net "
            "benefit; "
            f"{made:,} of the team's {cap:,} contacts a day made so far, {max(cap - made, 0):,} remaining.")


def plan_progress(plan: dict) -> None:
    made, cap = plan["made_today"], plan["capacity"]
    st.progress(min(made / cap, 1.0) if cap else 0.0,
                text=f"Contacts made today: {made:,} of {cap:,} · remaining {max(cap - made, 0):,}")


@ui.guarded
def queue_tab(ctx: core.Context, f: dict) -> None:
    plan = wq.todays_plan(capacity) if capacity else None
    if plan:
        st.markdown(plan_caption(plan))
        plan_progress(plan)
    df = wq.worklist(ctx.as_of, ctx.model_version, f["urgencies"], f["tiers"], f["segments"], f["officer"],
                     f["statuses"], f["show_snoozed"], cooldown, window,
                     plan["ids"] if plan and f["plan_only"] else None)
    if df.empty:
        ui.empty("No customer in the queue matches these filters.",
                 "Widen the filters, turn off 'Today's plan only', or turn on 'Show snoozed' to include "
                 "snoozed customers.")
        return
    total = int(df["total_rows"].iloc[0])
    st.caption(f"Showing {len(df):,} of {total:,} customers, most urgent and most worthwhile first. "
               "Select a row to act on it.")
    downloads(ctx, df, plan)
    chosen = queue_table(df, to_contact(plan))
    if chosen is not None:
        selected_panel(df[df["customer_id"] == chosen].iloc[0], to_contact(plan).get(chosen))


@ui.guarded
def sla_tab() -> None:
    df = wq.open_interventions()
    if df.empty:
        ui.empty("No open interventions.", "Interventions created from the queue appear here with their SLA.")
        return
    view = pd.DataFrame({
        "SLA": df["sla"],
        "Intervention": df["intervention_id"], "Customer": df["customer_id"], "Name": df["full_name"],
        "Type": df["intervention_type"].map(ui.label), "Channel": df["channel"].map(ui.channel),
        "Status": df["status"].map(ui.label), "Assigned to": df["assigned_to"].fillna("—"),
        "Age": df["age_hours"].map(ui.hours), "Time left": df["hours_left"].map(ui.hours), "Due": df["due_at"],
    })
    st.dataframe(ui.styled(view, {"SLA": ui.SLA_COLORS}), hide_index=True, column_config={
        "Due": st.column_config.DatetimeColumn(format="D MMM YYYY HH:mm"),
        "Customer": st.column_config.NumberColumn(format="%d"),
        "Intervention": st.column_config.NumberColumn(format="%d")})


@ui.guarded
def cooldown_tab() -> None:
    df = wq.cooldown_customers(cooldown)
    if df.empty:
        ui.empty(f"Nobody is in the contact cool-down ({cooldown} days after the last contact).")
        return
    st.caption(f"{int(df['total_rows'].iloc[0]):,} customers were contacted in the last {cooldown} business days; "
               "a new contact is refused until the business date shown.")
    st.dataframe(pd.DataFrame({
        "Customer": df["customer_id"], "Name": df["full_name"], "Last contact": df["last_contact"],
        "Type": df["last_type"].map(ui.label), "Channel": df["channel"].map(ui.channel),
        "New contact allowed from": df["contact_allowed_from"]}), hide_index=True, column_config={
        "Customer": st.column_config.NumberColumn(format="%d"),
        "Last contact": st.column_config.DateColumn(format="D MMM YYYY"),
        "New contact allowed from": st.column_config.DateColumn(format="D MMM YYYY")})


@ui.guarded
def page() -> None:
    ctx = core.context()
    if not ctx.has_scores:
        ui.empty("There are no risk scores yet, so the queue is empty.",
                 "A manager can generate demo data, train a model and run the nightly scoring from "
                 "**Data Management** (or run `pde generate`, `pde train` and `pde nightly`).")
        sla_tab()
        return
    st.caption(f"Scoring of **{ui.when(ctx.as_of)}** by model **{ctx.model_version}**"
               + ("" if ctx.model_version == ctx.champion else " (not the champion: it has no scores yet)"))
    f = filters()
    queue_cards(ctx, f["show_snoozed"])
    sla = wq.sla_summary()
    t_queue, t_sla, t_cool = st.tabs([":material/format_list_numbered: Priority queue",
                                      f":material/schedule: SLA & ageing ({sla['overdue']} overdue)",
                                      ":material/timer: Contact cool-down"])
    with t_queue:
        queue_tab(ctx, f)
    with t_sla:
        sla_tab()
    with t_cool:
        cooldown_tab()


page()
