"""Risk Overview: the portfolio at a glance — KPIs, tiers, PD distribution, segments, trend, drivers, rising risk."""

from __future__ import annotations

from functools import partial

import pandas as pd
import streamlit as st

from dashboard import charts, ui
from dashboard.queries import core
from dashboard.queries import effects as eq
from dashboard.queries import portfolio as pq

ui.header("Risk Overview", "Portfolio risk from the champion model's latest scoring. Click a segment bar to focus.")
settings = core.settings()


def kpi_rows(ctx: core.Context, segment: str | None) -> None:
    k = pq.kpis(ctx.as_of, ctx.model_version, segment)
    tr = pq.risk_trend(ctx.as_of, segment)
    prev = tr.iloc[-2] if len(tr) > 1 else None
    c = st.columns(5)
    c[0].metric("Customers scored", ui.num(k["customers"]), border=True)
    c[1].metric("High risk", ui.num(k["high_risk"]), border=True, delta_color="inverse",
                delta=None if prev is None else f"{int(k['high_risk'] - prev['high_risk']):+,} vs previous run",
                help="High or Critical tier")
    c[2].metric("Critical", ui.num(k["critical"]), border=True, delta_color="inverse",
                delta=None if prev is None else f"{int(k['critical'] - prev['critical']):+,} vs previous run")
    c[3].metric("Average PD", ui.pct(k["avg_pd"], 2), border=True, delta_color="inverse",
                delta=None if prev is None else f"{(k['avg_pd'] - prev['avg_pd']) * 100:+.2f} pts")
    c[4].metric("Total exposure", ui.money(k["exposure"]), border=True, help="Outstanding credit of scored customers")
    o = eq.effects()["overall"]
    c = st.columns(5)
    c[0].metric("Expected loss", ui.money(k["expected_loss"]), border=True, help="Σ PD × exposure × LGD")
    c[1].metric("Contacts (30 days)", ui.num(pq.contacts(segment)), border=True,
                help="Interventions made in the last 30 business days, not cancelled")
    measured = o["uplift"] is not None and o["enough_data"]
    c[2].metric("Measured uplift", ui.points(o["uplift"]) if measured else "Not enough data yet", border=True,
                help="Held-out miss rate − contacted miss rate over settled outcome windows, whole portfolio "
                     "(Interventions Tracker)" + (f"; 95 % interval {ui.interval(o['ci_low'], o['ci_high'], ui.points)}"
                                                  if measured else f"; about {o['outcomes_needed']:,} more settled "
                                                                   "outcomes needed"))
    c[3].metric("Prevented defaults", ui.num(o["prevented_defaults"], 1) if measured else "—",
                border=True, help="Measured: uplift × contacted customers, whole portfolio")
    c[4].metric("Prevented loss", ui.money(o["prevented_loss"]) if measured else "—", border=True,
                help="Measured: the uplift applied to the exposure × LGD of the contacted, whole portfolio")


def report_downloads() -> None:
    """The week's portfolio report (tiers and their movement, rising risk, interventions and their effect, drift,
    fairness alerts) as a printable page or a workbook, made when clicked."""
    day = core.business_date()
    help = (f"The seven days ending on the business date ({ui.when(day)}), whole portfolio: tiers and their "
            "movement, rising-risk customers, interventions and their measured effect, drift and fairness alerts.")
    c = st.columns([1, 1, 2])
    for col, kind, mime, what in ((c[0], "html", "text/html", "Weekly report (.html)"),
                                  (c[1], "xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                                   "Weekly report (.xlsx)")):
        col.download_button(what, partial(pq.weekly_report_file, core.engine(), settings, kind),
                            f"portfolio-{day.isoformat()}.{kind}", mime, key=f"dl-portfolio-{kind}", help=help,
                            icon=":material/summarize:", on_click="ignore", width="stretch")


def segment_filter(ctx: core.Context) -> str | None:
    seg = pq.segment_concentration(ctx.as_of, ctx.model_version)
    if seg.empty:
        return None
    seg = seg.assign(segment=seg["segment"].map(ui.label))
    names = {ui.label(s): s for s in core.segments()}
    c1, c2 = st.columns([1.5, 1])
    with c1:
        event = st.plotly_chart(charts.segment_bars(seg, "expected_loss", "Expected loss by segment and tier",
                                                    f"Expected loss ({ui.CURRENCY})"),
                                on_select="rerun", selection_mode="points", key="seg_chart")
    clicked = next((p.get("x") for p in (event.selection.points if event else []) if p.get("x")), None)
    # a new click moves the selector; a click already applied does not override a later choice in it
    if clicked != st.session_state.get("seg_last_click"):
        st.session_state["seg_last_click"] = clicked
        if clicked in names:
            st.session_state["seg_pick"] = clicked
    with c2:
        totals = seg.groupby("segment", as_index=False).agg(customers=("customers", "sum"),
                                                            exposure=("exposure", "sum"),
                                                            loss=("expected_loss", "sum"))
        high = seg[seg["tier"].isin(["High", "Critical"])].groupby("segment")["customers"].sum()
        totals["high"] = totals["segment"].map(high).fillna(0) / totals["customers"]
        st.dataframe(pd.DataFrame({"Segment": totals["segment"], "Customers": totals["customers"],
                                   "High-risk share": totals["high"] * 100, "Expected loss": totals["loss"]}),
                     hide_index=True, column_config={
                         "Customers": st.column_config.NumberColumn(format="localized"),
                         "High-risk share": st.column_config.NumberColumn(format="%.1f%%"),
                         "Expected loss": st.column_config.NumberColumn(format=f"{ui.CURRENCY}%,.0f")})
        pick = st.selectbox("Focus on segment", ["All segments", *names], key="seg_pick")
    return names.get(pick)


@ui.guarded
def page() -> None:
    ctx = core.context()
    if not ctx.has_scores:
        ui.empty("No risk scores yet: the portfolio overview appears after the first nightly scoring.",
                 "A manager can generate data, train a model and score it from **Data Management**.")
        return
    st.caption(f"Scoring of **{ui.when(ctx.as_of)}** by model **{ctx.model_version}**")
    report_downloads()
    if "seg_pick" in st.session_state and st.session_state["seg_pick"] not in (
            "All segments", *(ui.label(s) for s in core.segments())):
        del st.session_state["seg_pick"]
    segment = segment_filter(ctx)
    if segment:
        st.info(f"Showing segment **{ui.label(segment)}** only. Choose “All segments” to see the whole portfolio.",
                icon=":material/filter_alt:")
    kpi_rows(ctx, segment)
    c1, c2 = st.columns([1, 1.6])
    c1.plotly_chart(charts.tier_donut(pq.tier_counts(ctx.as_of, ctx.model_version, segment)), key="donut")
    c2.plotly_chart(charts.pd_histogram(pq.pd_histogram(ctx.as_of, ctx.model_version, segment), settings), key="hist")
    c1, c2 = st.columns(2)
    tr = pq.risk_trend(ctx.as_of, segment)
    with c1:
        if len(tr) > 1:
            st.plotly_chart(charts.trend(tr), key="trend")
        else:
            ui.empty("The 30-day trend needs at least two scoring dates.")
    with c2:
        dr = pq.top_drivers(ctx.as_of, ctx.model_version, segment)
        if dr.empty:
            ui.empty("No High or Critical customer, so no portfolio risk drivers to show.")
        else:
            st.plotly_chart(charts.drivers(dr), key="drivers")
    st.markdown("#### Rising-risk customers")
    rising = pq.rising_risk(ctx.as_of, ctx.model_version, segment)
    if rising.empty:
        ui.empty("No customer's PD rose since the previous scoring run.")
        return
    st.dataframe(ui.styled(pd.DataFrame({
        "Customer": rising["customer_id"], "Name": rising["full_name"], "Segment": rising["segment"].map(ui.label),
        "Tier": rising["prev_tier"].fillna("—") + " → " + rising["tier"], "PD before": rising["prev_pd"] * 100,
        "PD now": rising["pd"] * 100, "Rise (pts)": rising["pd_change"] * 100, "Top reason": rising["top_reason"]}),
        {"Tier": ui.TIER_COLORS}),
        hide_index=True, height=ui.rows_height(len(rising), 560), column_config={
            "Customer": st.column_config.NumberColumn(format="%d"),
            "PD before": st.column_config.NumberColumn(format="%.1f%%"),
            "PD now": st.column_config.NumberColumn(format="%.1f%%"),
            "Rise (pts)": st.column_config.NumberColumn(format="+%.1f")})


page()
