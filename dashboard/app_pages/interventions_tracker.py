"""Interventions Tracker: what was done, what worked, what it saved, and recording outcomes."""

from __future__ import annotations

from datetime import date, timedelta

import pandas as pd
import streamlit as st

from dashboard import actions, charts_ops, ui
from dashboard.queries import core
from dashboard.queries import interventions as iq
from predelinquency.operations.interventions import CHANNELS, INTERVENTION_TYPES, STATUSES

ui.header("Interventions Tracker", "Every intervention, its outcome, and which kinds of intervention prevent defaults.")
ui.show_flash()
settings = core.settings()


def filters() -> iq.Filters:
    with st.container(border=True):
        c = st.columns([1.4, 1.4, 1.1, 1.2, 1.1])
        today = date.today()
        period = c[0].date_input("Created between", value=(today - timedelta(days=90), today), max_value=today)
        since, until = (period if isinstance(period, tuple | list) and len(period) == 2
                        else (period[0] if isinstance(period, tuple | list) else period, today))
        types = c[1].multiselect("Type", INTERVENTION_TYPES, format_func=ui.label, placeholder="All types")
        channels = c[2].multiselect("Channel", CHANNELS, format_func=ui.channel, placeholder="All channels")
        statuses = c[3].multiselect("Status", STATUSES, format_func=ui.label, placeholder="Any status")
        officer = c[4].selectbox("Assigned to", ["Everyone", iq.UNASSIGNED, *core.officers()["username"]])
    return iq.Filters(since, until, tuple(types), tuple(channels), tuple(statuses),
                      None if officer == "Everyone" else officer)


def kpis(f: iq.Filters, by_type: pd.DataFrame) -> None:
    k = iq.kpis(f, settings.costs.lgd)
    spent = core.intervention_cost(zip(by_type["intervention_type"], by_type["interventions"], strict=True))
    roi = (k["prevented_loss"] - spent) / spent if spent else None
    c = st.columns(7)
    c[0].metric("Interventions", ui.num(k["total"]), border=True)
    c[1].metric("Success rate", ui.pct(k["successes"] / k["outcomes"] if k["outcomes"] else None), border=True,
                help="Paid, promise to pay or restructured, of the outcomes recorded")
    c[2].metric("Prevented defaults", ui.num(k["prevented"]), border=True)
    c[3].metric("Prevented loss", ui.money(k["prevented_loss"]), border=True,
                help="Exposure × LGD at the time of action, for the defaults prevented")
    # a large return reads better (and fits the card) as a multiple: 27,304% → 273×
    c[4].metric("ROI", f"{roi:,.0f}×" if roi is not None and abs(roi) >= 10 else ui.pct(roi, 0), border=True,
                help=f"(Prevented loss − cost of interventions) ÷ cost; interventions cost {ui.money(spent)}")
    c[5].metric("Pending", ui.num(k["pending"]), border=True, help="Open interventions without an outcome")
    c[6].metric("Avg response time", ui.hours(k["avg_response_hours"]), border=True)


def charts(f: iq.Filters, by_type: pd.DataFrame) -> None:
    c1, c2 = st.columns(2)
    with c1:
        if by_type["outcomes"].sum() > 0:
            st.plotly_chart(charts_ops.effectiveness(by_type), key="eff")
        else:
            ui.empty("No outcome recorded yet in this selection, so effectiveness cannot be measured.")
    dist = iq.outcome_distribution(f)
    with c2:
        if dist.empty:
            ui.empty("No responses recorded yet in this selection.")
        else:
            st.plotly_chart(charts_ops.outcomes(dist), key="dist")
    c1, c2 = st.columns(2)
    c1.plotly_chart(charts_ops.timeline(iq.timeline(f)), key="timeline")
    rt = iq.response_times(f)
    if not rt.empty:
        c2.plotly_chart(charts_ops.response_times(rt), key="rt")
    table = by_type.assign(rate=lambda d: d["successes"] / d["outcomes"].where(d["outcomes"] > 0))
    st.dataframe(pd.DataFrame({
        "Type": table["intervention_type"].map(ui.label), "Interventions": table["interventions"],
        "Outcomes": table["outcomes"], "Success rate": table["rate"] * 100, "Prevented defaults": table["prevented"],
        "Recovered": table["recovered"], "Avg response": table["avg_response_hours"].map(ui.hours)}),
        hide_index=True, column_config={
            "Success rate": st.column_config.NumberColumn(format="%.1f%%"),
            "Recovered": st.column_config.NumberColumn(format=f"{ui.CURRENCY}%,.0f")})


def listing(f: iq.Filters) -> None:
    st.markdown("#### Interventions")
    df = iq.listing(f)
    if df.empty:
        ui.empty("No intervention matches these filters.")
        return
    st.caption(f"Showing {len(df):,} of {int(df['total_rows'].iloc[0]):,}, newest first. Select an open one to "
               "record its outcome.")
    event = st.dataframe(pd.DataFrame({
        "Intervention": df["intervention_id"], "Customer": df["customer_id"], "Name": df["full_name"],
        "Type": df["intervention_type"].map(ui.label), "Channel": df["channel"].map(ui.channel),
        "Status": df["status"].map(ui.label), "Assigned to": df["assigned_to"].fillna("—"),
        "Created": df["created_at"], "Due": df["due_at"], "PD at action": df["pd_at_action"] * 100,
        "Outcome": df["outcome"].map(lambda o: ui.label(o) if isinstance(o, str) else "—"),
        "Recovered": [ui.money(a, 2) if isinstance(o, str) else "—"
                      for a, o in zip(df["amount_recovered"], df["outcome"], strict=True)]}),
        hide_index=True, on_select="rerun", selection_mode="single-row", key=ui.widget_key("iv_table"),
        height=ui.rows_height(len(df), 380), column_config={
            "Intervention": st.column_config.NumberColumn(format="%d"),
            "Customer": st.column_config.NumberColumn(format="%d"),
            "Created": st.column_config.DatetimeColumn(format="D MMM YYYY HH:mm"),
            "Due": st.column_config.DatetimeColumn(format="D MMM YYYY HH:mm"),
            "PD at action": st.column_config.NumberColumn(format="%.1f%%")})
    rows = event.selection.rows if event else []
    if not rows:
        return
    r = df.iloc[rows[0]]
    with st.container(border=True):
        st.markdown(f"**Intervention {r['intervention_id']}** · {ui.label(r['intervention_type'])} for "
                    f"{r['full_name']} (customer {r['customer_id']}) · {ui.label(r['status'])}")
        if isinstance(r["outcome"], str):
            st.info(f"Outcome already recorded: {ui.label(r['outcome'])} on {ui.when(r['responded_at'])}.")
        elif r["status"] not in ("open", "in_progress"):
            st.info(f"This intervention is {ui.label(r['status']).lower()}; no outcome can be recorded.")
        else:
            actions.status_buttons(int(r["intervention_id"]), r["status"], int(r["row_version"]),
                                   key=f"is-{r['intervention_id']}", reset=("iv_table",))
            actions.outcome_form(int(r["intervention_id"]), r["created_at"].to_pydatetime(),
                                 key=f"io-{r['intervention_id']}", reset=("iv_table",))


@ui.guarded
def page() -> None:
    if core.counts()["interventions"] == 0:
        ui.empty("No intervention has been made yet.",
                 "Interventions are created from the **Action Center** or the **Customer Deep Dive**; their outcomes "
                 "are recorded here.")
        return
    f = filters()
    by_type = iq.by_type(f)
    kpis(f, by_type)
    if by_type.empty:
        ui.empty("No intervention was created in this period with these filters.")
        return
    charts(f, by_type)
    listing(f)


page()
