"""Customer Deep Dive: one customer's risk, why, how they behave, how they compare, and what was done."""

from __future__ import annotations

from datetime import timedelta

import pandas as pd
import streamlit as st

from dashboard import actions, charts, ui
from dashboard.queries import core
from dashboard.queries import customer as cq

ui.header("Customer Deep Dive", "Everything about one customer's risk: score, drivers, behaviour, peers and history.")
ui.show_flash()
settings = core.settings()


def pick_customer() -> int | None:
    """The customer chosen by search (id or name prefix), or handed over from the Action Center."""
    handed = st.session_state.pop("deep_dive_customer", None)
    if handed is not None:
        st.session_state["dd_query"] = str(handed)
    query = st.text_input("Find a customer", key="dd_query", placeholder="Customer id, or the start of the name",
                          help=f"Names match from the start, any case; at most {cq.SEARCH_LIMIT} results.")
    if not query.strip():
        return None
    found = cq.search(query)
    if found.empty:
        st.warning(f"No customer matches “{query.strip()}”.")
        return None
    if len(found) == 1:
        return int(found.iloc[0]["customer_id"])
    labels = {int(r.customer_id): f"{r.full_name} · {r.customer_id} · {ui.label(r.segment)}, {r.region}"
              for r in found.itertuples()}
    return st.selectbox(f"{len(found)} matches", list(labels), format_func=labels.get)


def profile_strip(p: dict) -> None:
    st.caption(f"{ui.label(p['segment'])} segment · {p['age']} years · {ui.label(p['employment_type'])} · "
               f"{p['region']} · customer for {p['tenure_months']} months · products: "
               f"{ui.label(p['products']).lower() if p['products'] else 'none'}"
               + ("" if p["is_active"] else " · **inactive**"))
    c = st.columns(4)
    c[0].metric("Monthly income", ui.money(p["monthly_income"]), border=True)
    c[1].metric("Credit outstanding", ui.money(p["outstanding"]), border=True)
    c[2].metric("Monthly instalments", ui.money(p["monthly_instalments"]), border=True)
    c[3].metric("Case officer", p["officer"] or "Not assigned", border=True,
                help="The officer this customer is assigned to (Assign, below). Each intervention names the officer "
                     "handling it, who may be someone else.")
    notes = []
    if p["snoozed_until"] is not None:
        notes.append(f":material/snooze: Snoozed until {ui.when(p['snoozed_until'])}")
    if p["last_contact"] is not None:
        notes.append(f":material/call: Last contact on {ui.when(p['last_contact'])}")
    if notes:
        st.caption(" · ".join(notes))


def risk_row(s: dict) -> None:
    c1, c2, c3 = st.columns([1, 1.4, 1.4])
    c1.plotly_chart(charts.gauge(float(s["pd"]), int(s["score"]), s["tier"], settings), key="gauge")
    hist = cq.score_history(s["customer_id"])
    if len(hist) > 1:
        c2.plotly_chart(charts.score_history(hist), key="history")
    else:
        with c2:
            ui.empty("Only one scoring so far: the history starts with the next nightly run.")
    with c3:
        st.markdown(f"**Rating band {s['rating_band']}** · scored {ui.when(s['as_of'])} by `{s['model_version']}`")
        if s["prev_pd"] is not None:
            st.markdown(f"PD {ui.pct(s['prev_pd'])} → **{ui.pct(s['pd'])}** (score change {s['score_change']:+d})"
                        if s["score_change"] is not None else f"PD {ui.pct(s['prev_pd'])} → **{ui.pct(s['pd'])}**")
        st.markdown(f"**Recommended:** {ui.label(s['recommended_action'])} — net benefit "
                    f"{ui.money(s['expected_benefit'])}, expected loss {ui.money(s['expected_loss'])} on "
                    f"exposure {ui.money(s['exposure'])}")
        st.markdown("**Reason codes**")
        for r in s["reasons"] or []:
            st.markdown(f"- `{r.get('code', '')}` {r.get('text', '')}")
        if not s["reasons"]:
            st.caption("No risk-raising driver: nothing in the behaviour points to a missed payment.")
        for rule in s["policy_rules"] or []:
            st.markdown(f":material/gavel: Policy rule **{rule}** lifted the tier (model said {s['model_tier']}).")


def peers(p: dict, s: dict) -> None:
    ctx = core.context()
    peer = cq.peer_row(ctx.as_of, ctx.model_version, p["segment"])
    if not peer:
        ui.empty("No peer figures yet for this segment.")
        return
    rows = [("PD", s.get("pd"), peer["pd"], ui.pct), ("Score", s.get("score"), peer["score"], ui.num),
            ("Exposure", s.get("exposure"), peer["exposure"], ui.money),
            ("Expected loss", s.get("expected_loss"), peer["expected_loss"], ui.money),
            ("Monthly income", p["monthly_income"], peer["monthly_income"], ui.money),
            ("Tenure (months)", p["tenure_months"], peer["tenure_months"], ui.num)]
    st.dataframe(pd.DataFrame({"Measure": [r[0] for r in rows], "This customer": [r[3](r[1]) for r in rows],
                               f"{ui.label(p['segment'])} average": [r[3](r[2]) for r in rows]}),
                 hide_index=True, width="stretch")
    st.caption(f"{int(peer['customers']):,} customers in the segment; {ui.pct(peer['high_risk_share'])} are High or "
               "Critical.")


def history(cid: int) -> None:
    iv = cq.interventions(cid)
    if iv.empty:
        ui.empty("No intervention yet for this customer.")
        return
    st.dataframe(pd.DataFrame({
        "Made on": iv["business_date"].map(ui.when), "Type": iv["intervention_type"].map(ui.label),
        "Channel": iv["channel"].map(ui.channel), "Status": iv["status"].map(ui.label),
        "Due": iv["due_at"].map(ui.when), "Assigned to": iv["assigned_to"].fillna("—"), "By": iv["created_by"],
        "Contact result": iv["outcome"].map(ui.label), "Responded": iv["responded_at"].map(ui.when),
        "Payment outcome": [ui.payment_outcome(o, d) if s != "cancelled" else "—" for o, d, s in zip(
            iv["payment_outcome"], iv["outcome_due_date"], iv["status"], strict=True)],
        "Notes": iv["notes"].fillna("")}), hide_index=True, height=ui.rows_height(len(iv)),
        column_config={"Payment outcome": st.column_config.TextColumn(
            help="How the customer's next instalment after the contact ended, settled from the payments once "
                 f"the {settings.operations.outcome_window_days}-day outcome window has closed")})


@ui.guarded
def page() -> None:
    if core.counts()["customers"] == 0:
        ui.empty("There are no customers yet.", "Load bank files or generate demo data on **Data Management**.")
        return
    cid = pick_customer()
    if cid is None:
        st.caption("Tip: select a row in the Action Center and choose **Open deep dive**.")
        return
    p = cq.profile(cid)
    if not p:
        st.warning(f"Customer {cid} does not exist.")
        return
    st.subheader(f"{p['full_name']} · customer {cid}", anchor=False)
    profile_strip(p)
    s = cq.latest_score(cid)
    if s:
        s["customer_id"] = cid
        risk_row(s)
        c1, c2 = st.columns([1, 1.3])
        if s["reasons"]:
            c1.plotly_chart(charts.contributions(s["reasons"]), key="contrib")
        with c2:
            st.markdown("**Compared with peers**")
            peers(p, s)
    else:
        ui.empty("This customer has not been scored yet.", "Scores appear after the next nightly run.")
    b = cq.behaviour(cid)
    if b.empty:
        ui.empty("No daily behaviour recorded for this customer.")
    else:
        st.plotly_chart(charts.behaviour(b), key="behaviour")
    st.markdown("#### Interventions")
    history(cid)
    st.markdown("#### Act on this customer")
    cooldown = None
    if p["last_contact"] is not None:  # business days, as operations.interventions counts them
        until = p["last_contact"] + timedelta(days=settings.operations.contact_cooldown_days)
        cooldown = until if until > core.business_date() else None
    with st.container(border=True):
        actions.customer_actions(cid, p["full_name"], s.get("recommended_action") if s else None, cooldown,
                                 key=f"dd-{cid}")


page()
