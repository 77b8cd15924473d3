"""Interventions Tracker: what contacts really prevent (measured against the control group), the last policy
backtest, every intervention with its contact result and settled payment outcome, and recording contact results."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from dashboard import actions, charts_ops, ui
from dashboard.queries import core
from dashboard.queries import effects as eq
from dashboard.queries import interventions as iq
from predelinquency.domain.vocabulary import CONTACT_CHANNELS, INTERVENTION_TYPES
from predelinquency.operations.holdout import set_holdout_share
from predelinquency.operations.interventions import STATUSES
from predelinquency.operations.permissions import allowed

ui.header("Interventions Tracker", "What contacts really prevent, measured against a randomised control group, "
                                   "and every intervention with its outcome.")
ui.show_flash()
settings = core.settings()
NOT_MEASURED = {"awaiting_outcome": "plan customers whose outcome window is still open",
                "released_from_holdout": "held-out customers a manager released for contact",
                "no_instalment_due": "plan customers with no instalment due in their window",
                "contacts_outside_plan": "contacts made outside the nightly's plan"}


def roi(x: Any) -> str:
    # a large return reads better (and fits the card) as a multiple: 27,304% → 273×
    return f"{x:,.0f}×" if x is not None and abs(x) >= 10 else ui.pct(x, 0)


def effect_kpis(o: dict[str, Any]) -> None:
    """The measured figures of all settled plan outcomes, or how many more are needed before they say anything."""
    if not o["enough_data"]:
        st.info(f"**Not enough data yet: about {o['outcomes_needed']:,} more settled outcomes needed** before the "
                f"difference between contacted and held-out customers can be told apart from chance. Settled so "
                f"far: {o['contacted']:,} contacted and {o['holdout']:,} held out.", icon=":material/hourglass_top:")
        return
    c = st.columns(5)
    c[0].metric("Uplift", ui.points(o["uplift"]), border=True, delta_arrow="off", delta_color="off",
                delta=f"95 % CI {ui.interval(o['ci_low'], o['ci_high'], ui.points)}",
                help=f"Held-out miss rate {ui.pct(o['miss_rate_holdout'])} − contacted miss rate "
                     f"{ui.pct(o['miss_rate_contacted'])}: missed instalments prevented per contacted customer")
    lo, hi = o["prevented_defaults_ci"]
    c[1].metric("Prevented defaults", ui.num(o["prevented_defaults"], 1), border=True, delta_arrow="off",
                delta_color="off", delta=f"95 % CI {ui.interval(lo, hi, lambda v: ui.num(v, 1))}",
                help=f"Uplift × {o['contacted']:,} contacted customers with a settled outcome")
    lo, hi = o["prevented_loss_ci"]
    c[2].metric("Prevented loss", ui.money(o["prevented_loss"]), border=True, delta_arrow="off", delta_color="off",
                delta=f"95 % CI {ui.interval(lo, hi, ui.money)}",
                help="The uplift applied to the exposure × LGD of the contacted customers")
    c[3].metric("Contact cost", ui.money(o["contact_cost"]), border=True,
                help="What the contacts in the plan cost (settings: actions.<type>.cost)")
    c[4].metric("ROI", roi(o["roi"]), border=True, help="(Prevented loss − contact cost) ÷ contact cost")


def by_action_table(rows: list[dict[str, Any]], synthetic: bool) -> None:
    df = pd.DataFrame(rows)
    view = pd.DataFrame({
        "Action": df["action"].map(ui.label), "Contacted": df["contacted"], "Held out": df["holdout"],
        "Miss rate contacted": df["miss_rate_contacted"].astype(float) * 100,
        "Miss rate held out": df["miss_rate_holdout"].astype(float) * 100,
        "Uplift [95 % CI]": [f"{ui.points(r['uplift'])} {ui.interval(r['ci_low'], r['ci_high'], ui.points)}"
                             if r["uplift"] is not None else "—" for r in rows],
        "Enough data": ["yes" if r["enough_data"] else f"~{r['outcomes_needed']:,} more needed" for r in rows]})
    config = {"Miss rate contacted": st.column_config.NumberColumn(format="%.1f%%"),
              "Miss rate held out": st.column_config.NumberColumn(format="%.1f%%")}
    if synthetic:  # the generator's ground truth for the same customers, as the ceiling AUC is for the model
        view.insert(6, "True uplift", [ui.points(r.get("true_uplift")) for r in rows])
        config["True uplift"] = st.column_config.TextColumn(
            help="Synthetic bank only: the simulator's potential outcomes of the same customers (never a feature)")
    st.dataframe(view, hide_index=True, column_config=config)


@ui.guarded
def effects_section() -> None:
    e = eq.effects()
    st.markdown("#### What contacts prevent")
    st.caption(f"Plans up to business date {ui.when(e['business_date'])}: each day the nightly holds out a random "
               "share of the customers it would contact; the difference between the two groups' missed instalments "
               f"is what the contacts changed ({e['method']}).")
    effect_kpis(e["overall"])
    c1, c2 = st.columns([1.6, 1])
    with c1:
        if e["weekly"]:
            st.plotly_chart(charts_ops.weekly_miss_rates(e["weekly"]), key="weekly")
        else:
            ui.empty("No settled outcome yet, so no weekly miss rates to compare.",
                     f"An outcome settles once the {settings.operations.outcome_window_days}-day window after the "
                     "plan has closed and the next instalment was paid or missed.")
    with c2:
        left_out = e["not_measured"]
        st.markdown("**Not measured**")
        st.markdown("\n".join(f"- {left_out.get(k, 0):,} {text}" for k, text in NOT_MEASURED.items()))
        st.caption("Held-out customers are compared in the arm they were drawn into, whatever officers did, so "
                   "the comparison stays fair; those released for contact leave it.")
    st.markdown("**By recommended action**")
    if e["by_action"]:
        by_action_table(e["by_action"], e["synthetic"])
    else:
        ui.empty("No settled outcome yet for any action.")


@ui.guarded
def control_group_panel() -> None:
    """For managers: the control group's size now and the share of each day's plan held out."""
    user = actions.current_user()
    if not allowed(user, "manage_holdout"):
        return
    g = eq.control_group(user)
    with st.expander(f"Control group: {g['held_out_now']:,} customers held out now "
                     f"({g['share'] * 100:g}% of each plan) · managers only", icon=":material/science:",
                     key="control_group"):
        c = st.columns(4)
        c[0].metric("Held out now", ui.num(g["held_out_now"]), border=True,
                    help="Customers in an open holdout draw: not contacted, not shown in the queue")
        c[1].metric("Contacted arm now", ui.num(g["contact_arm_now"]), border=True)
        c[2].metric("Released for contact", ui.num(g["released_now"]), border=True,
                    help="Held-out customers a manager released with a reason; they leave the measurement")
        c[3].metric("Share held out", f"{g['share'] * 100:g}%", border=True,
                    help=f"Set by {g['set_by']}" + (f" on {ui.when(g['set_at'])}" if g["set_at"] else ""))
        with st.form("holdout_share", border=False):
            c1, c2 = st.columns([1, 2], vertical_alignment="bottom")
            share = c1.number_input("Share of each day's plan held out (%)", 0.0, 50.0, float(g["share"] * 100),
                                    step=1.0, format="%.1f")
            c2.caption("A larger control group measures sooner but contacts fewer customers. The change applies "
                       "from the next plan the nightly draws, and is audited.")
            go = st.form_submit_button("Change the share", type="primary")
        if go:
            actions.perform(lambda conn: set_holdout_share(conn, user, share / 100, settings),
                            lambda r: f"The control group's share is now {r['after'] * 100:g}% (was "
                                      f"{r['before'] * 100:g}%), from the next plan on.")


POLICY_LABELS = {"none": "No contact", "random": "K at random", "pd_top_k": "Top K by PD",
                 "el_top_k": "Top K by expected loss", "engine": "The engine", "oracle": "Oracle (true effects)"}


def net_benefit_chart(policies: dict[str, dict[str, Any]]) -> go.Figure:
    """Net benefit by policy: realised under the simulated draws, and expected from the generator's probabilities."""
    names = [POLICY_LABELS.get(p, p) for p in policies]
    fig = go.Figure()
    for key, name, color in (("net_benefit", "Realised", ui.PRIMARY), ("expected_net_benefit", "Expected",
                                                                      ui.SERIES[1])):
        fig.add_bar(x=names, y=[p[key] for p in policies.values()], name=name, marker_color=color,
                    hovertemplate=f"%{{x}} · {name.lower()}: {ui.CURRENCY}%{{y:,.0f}}<extra></extra>")
    fig.update_layout(barmode="group", bargap=0.3)
    return ui.style(fig, "Net benefit by policy (prevented loss − contact cost)", "Policy",
                    f"Net benefit ({ui.CURRENCY})")


def _ratio(r: dict[str, Any]) -> str:
    return "n/a" if r["net_benefit"] is None else f"{r['net_benefit']:.2f}×"


def backtest_table(policies: dict[str, dict[str, Any]]) -> None:
    rows = list(policies.values())
    st.dataframe(pd.DataFrame({
        "Policy": [POLICY_LABELS.get(p, p) for p in policies], "Contacts": [r["contacts"] for r in rows],
        "Missed": [r["missed"] for r in rows], "Prevented defaults": [r["prevented_defaults"] for r in rows],
        # text, so a policy that contacts nobody shows the house's em dash rather than "None"
        "Per 100 contacts": [ui.num(r["prevented_per_100_contacts"], 1) for r in rows],
        "Prevented loss": [ui.money(r["prevented_loss"]) for r in rows],
        "Contact cost": [ui.money(r["contact_cost"]) for r in rows],
        "Net benefit": [ui.money(r["net_benefit"]) for r in rows],
        "Expected net benefit": [ui.money(r["expected_net_benefit"]) for r in rows]}), hide_index=True,
        column_config={"Per 100 contacts": st.column_config.TextColumn(help="Prevented defaults per 100 contacts"),
                       "Expected net benefit": st.column_config.TextColumn(
                           help="From the generator's probabilities rather than its draws: less noisy")})


@ui.guarded
def backtest_section() -> None:
    """The last `pde backtest policy`: net benefit by policy, the figures, the engine's ratios and lead time."""
    st.markdown("#### Policy backtest")
    b = eq.last_backtest()
    if b is None:
        ui.empty("No policy backtest has been run yet.",
                 "On the synthetic bank, `pde backtest policy --days 60 --capacity 150` plays the bank forward in "
                 "memory and replays each contact policy (none, random, top K by PD or expected loss, the engine, "
                 "an oracle that knows the true effects) on the same simulated customers; the last one shows here.")
        return
    r = b["result"]
    st.caption(f"Run {ui.when(b['created_at'])} by {b['created_by']} on the bank at business date "
               f"{ui.when(b['business_date'])}: {r['days']} plan days, {r['capacity']:,} contacts a day, "
               f"{r['customers']:,} customers; PD model {r['model_version']}, uplift model "
               f"{r['uplift_version'] or 'none (the configured rates)'}. Every policy is replayed on the same "
               f"simulated world without contacts; scores are computed on the {r['scored_on']}.")
    lead = r["lead_time"]
    c = st.columns(4)
    c[0].metric("Engine vs top K by PD", _ratio(r["engine_vs_pd_top_k"]), border=True,
                help=r["engine_vs_pd_top_k"]["reason"] or "The engine's net benefit over ranking by PD")
    c[1].metric("Engine vs oracle", _ratio(r["engine_vs_oracle"]), border=True,
                help=r["engine_vs_oracle"]["reason"] or "The engine's net benefit over the oracle's")
    c[2].metric("Misses planned ahead", ui.pct(lead["share_planned_ahead"], 0), border=True,
                help=f"Of the {lead['misses']:,} missed instalments without contact, the share the engine planned "
                     f"within the {r['window_days']} days before the due date")
    c[3].metric("Median lead time", "n/a" if lead["median_days"] is None else f"{lead['median_days']:g} days",
                border=True, help=f"Mean {lead['mean_days']} days: from the engine's first plan to the due date")
    st.plotly_chart(net_benefit_chart(r["policies"]), key="backtest")
    backtest_table(r["policies"])
    with st.expander("How the backtest counts"):
        st.markdown("\n".join(f"- {a}" for a in r["assumptions"]))


def filters() -> iq.Filters:
    with st.container(border=True):
        c = st.columns([1.4, 1.4, 1.1, 1.2, 1.1])
        today = core.business_date()
        period = c[0].date_input("Made between (business dates)", value=(today - timedelta(days=90), today),
                                 max_value=today)
        since, until = (period if isinstance(period, tuple | list) and len(period) == 2
                        else (period[0] if isinstance(period, tuple | list) else period, today))
        types = c[1].multiselect("Type", INTERVENTION_TYPES, format_func=ui.label, placeholder="All types")
        channels = c[2].multiselect("Channel", CONTACT_CHANNELS, format_func=ui.channel, placeholder="All channels")
        statuses = c[3].multiselect("Status", STATUSES, format_func=ui.label, placeholder="Any status")
        officer = c[4].selectbox("Assigned to", ["Everyone", iq.UNASSIGNED, *core.officers()["username"]])
    return iq.Filters(since, until, tuple(types), tuple(channels), tuple(statuses),
                      None if officer == "Everyone" else officer)


def activity(f: iq.Filters) -> bool:
    """The team's work in the selection; False when there is none."""
    k = iq.activity(f)
    c = st.columns(4)
    c[0].metric("Interventions", ui.num(k["total"]), border=True)
    c[1].metric("Awaiting a contact result", ui.num(k["pending"]), border=True,
                help="Open interventions without a contact result")
    c[2].metric("Payment outcome settled", ui.num(k["settled"]), border=True,
                help="Interventions whose outcome window has closed: the next instalment was paid, late or missed")
    c[3].metric("Avg response time", ui.hours(k["avg_response_hours"]), border=True)
    if not k["total"]:
        return False
    with st.expander("Team activity: contact results, response times, interventions over time"):
        c1, c2, c3 = st.columns(3)
        dist = iq.outcome_distribution(f)
        with c1:
            if dist.empty:
                ui.empty("No contact result recorded yet in this selection.")
            else:
                st.plotly_chart(charts_ops.outcomes(dist), key="dist")
        rt = iq.response_times(f)
        if not rt.empty:
            c2.plotly_chart(charts_ops.response_times(rt), key="rt")
        c3.plotly_chart(charts_ops.timeline(iq.timeline(f)), key="timeline")
    return True


def listing(f: iq.Filters) -> None:
    df = iq.listing(f)
    st.caption(f"Showing {len(df):,} of {int(df['total_rows'].iloc[0]):,}, newest first. Select an open one to "
               "record its contact result.")
    event = st.dataframe(pd.DataFrame({
        "Made on": df["business_date"], "Intervention": df["intervention_id"], "Customer": df["customer_id"],
        "Name": df["full_name"], "Type": df["intervention_type"].map(ui.label),
        "Channel": df["channel"].map(ui.channel), "Status": df["status"].map(ui.label),
        "Assigned to": df["assigned_to"].fillna("—"), "Due": df["due_at"], "PD at action": df["pd_at_action"] * 100,
        "Contact result": df["outcome"].map(lambda o: ui.label(o) if isinstance(o, str) else "—"),
        "Payment outcome": [ui.payment_outcome(o, d) if s != "cancelled" else "—" for o, d, s in zip(
            df["payment_outcome"], df["outcome_due_date"], df["status"], strict=True)]}),
        hide_index=True, on_select="rerun", selection_mode="single-row", key=ui.widget_key("iv_table"),
        height=ui.rows_height(len(df), 380), column_config={
            "Made on": st.column_config.DateColumn(format="D MMM YYYY", help="Business date"),
            "Intervention": st.column_config.NumberColumn(format="%d"),
            "Customer": st.column_config.NumberColumn(format="%d"),
            "Due": st.column_config.DatetimeColumn(format="D MMM YYYY HH:mm", help="SLA, in business time"),
            "PD at action": st.column_config.NumberColumn(format="%.1f%%"),
            "Payment outcome": st.column_config.TextColumn(
                help="How the next instalment after the contact ended, settled from the payments once the "
                     f"{settings.operations.outcome_window_days}-day window has closed")})
    rows = event.selection.rows if event else []
    if not rows:
        return
    r = df.iloc[rows[0]]
    with st.container(border=True):
        st.markdown(f"**Intervention {r['intervention_id']}** · {ui.label(r['intervention_type'])} for "
                    f"{r['full_name']} (customer {r['customer_id']}) · {ui.label(r['status'])} · payment outcome: "
                    f"{ui.payment_outcome(r['payment_outcome'], r['outcome_due_date'])}")
        if isinstance(r["outcome"], str):
            st.info(f"Contact result already recorded: {ui.label(r['outcome'])} on {ui.when(r['responded_at'])}.")
        elif r["status"] not in ("open", "in_progress"):
            st.info(f"This intervention is {ui.label(r['status']).lower()}; no contact result can be recorded.")
        else:
            actions.status_buttons(int(r["intervention_id"]), r["status"], int(r["row_version"]),
                                   key=f"is-{r['intervention_id']}", reset=("iv_table",))
            actions.outcome_form(int(r["intervention_id"]), r["created_at"].to_pydatetime(),
                                 key=f"io-{r['intervention_id']}", reset=("iv_table",))


@ui.guarded
def page() -> None:
    counts = core.counts()
    if counts["interventions"] == 0 and counts["plans"] == 0:
        ui.empty("No intervention has been made and no contact plan drawn yet.",
                 "The nightly draws each day's plan (with its control group); interventions are created from the "
                 "**Action Center** or the **Customer Deep Dive**; what they prevent is measured here.")
        backtest_section()
        return
    effects_section()
    control_group_panel()
    backtest_section()
    st.markdown("#### Interventions")
    f = filters()
    if not activity(f):
        ui.empty("No intervention was made in this period with these filters.")
        return
    listing(f)


page()
