"""Real-time Monitor: alerts, recent score changes, batch runs and activity, refreshed every 30 s in place."""

from __future__ import annotations

from datetime import date, datetime

import pandas as pd
import streamlit as st

from dashboard import actions, ui
from dashboard.queries import core
from dashboard.queries import monitor as mq
from dashboard.queries import worklist as wq
from predelinquency.features.registry import CALENDAR_FEATURES
from predelinquency.model.psi import RETRAIN_ABOVE, psi_band
from predelinquency.operations.permissions import allowed

REFRESH_SECONDS = 30
ui.header("Real-time Monitor", f"Alerts, score changes, jobs and activity — refreshed every {REFRESH_SECONDS} s.")


def alerts(ctx: core.Context) -> None:
    found = 0
    if ctx.has_scores:
        jumps = mq.tier_jumps(ctx.as_of, ctx.model_version)
        if jumps["into_critical"] or jumps["two_or_more"]:
            found += 1
            st.error(f"**Tier jumps:** {jumps['into_critical']:,} customers moved into Critical and "
                     f"{jumps['two_or_more']:,} jumped two tiers or more in the run of {ui.when(ctx.as_of)} "
                     f"({jumps['up']:,} moved up in all).", icon=":material/trending_up:")
        elif jumps["up"]:
            st.info(f"{jumps['up']:,} customers moved up a tier in the latest run.", icon=":material/trending_up:")
    psi = mq.latest_psi()
    if psi:
        beyond = {k: v for k, v in psi["features"].items() if psi_band(v) == "retrain"}
        drifted = {k: v for k, v in beyond.items() if k not in CALENDAR_FEATURES}
        calendar = sorted(set(beyond) - set(drifted), key=lambda k: -beyond[k])
        if calendar and not drifted:
            st.info(f"{len(calendar)} calendar-dependent feature(s) moved beyond the retrain band "
                    f"({', '.join(ui.feature_label(k) for k in calendar[:3])}{' …' if len(calendar) > 3 else ''}): "
                    "they follow where the scoring date falls in the pay and bill cycles, not customers' "
                    "behaviour, so they are no reason to retrain.", icon=":material/calendar_month:")
        if psi_band(psi["score"] or 0) == "retrain" or drifted:
            found += 1
            worst = ", ".join(f"{ui.feature_label(k)} ({v:.2f})" for k, v in
                              sorted(drifted.items(), key=lambda kv: -kv[1])[:5])
            st.error(f"**Drift beyond the retrain band (PSI > {RETRAIN_ABOVE}):** score PSI "
                     f"{ui.num(psi['score'], 3)}" + (f"; features: {worst}" if worst else "")
                     + f" — nightly run {psi['run_id']}. Consider retraining.", icon=":material/warning:")
    found += model_alerts()
    sla = wq.sla_summary()
    if sla["overdue"]:
        found += 1
        st.warning(f"**{sla['overdue']:,} open intervention(s) past their SLA** at business time "
                   f"({sla['approaching']:,} more due within 24 h): see the Action Center's SLA tab.",
                   icon=":material/schedule:")
    # batch runs are the platform's own events: they age by the wall clock, like the audit trail
    failed = mq.failed_runs()
    if not failed.empty:
        found += 1
        r = failed.iloc[0]
        st.error(f"**{len(failed)} failed run(s) in the last 7 days.** Latest: {r['kind']} run {r['run_id']} — "
                 f"{(r['error'] or 'no error text')[:300]}", icon=":material/error:")
    if not found:
        st.success("No alerts: no critical tier jumps, no drift beyond the retrain band, no model below the AUC "
                   "floor, no fairness limit crossed, no overdue interventions, no failed runs.",
                   icon=":material/check_circle:")


def model_alerts() -> int:
    """The retrain alert (an expected or realised AUC below the floor) and the fairness alerts of the newest runs;
    how many kinds were raised."""
    report = mq.performance()
    retrain = [a for a in report["alerts"] if a["kind"] == "retrain"]
    unfair = [a for a in report["alerts"] if a["kind"] == "fairness"]
    for a in retrain:
        what = "expected (from the PDs alone)" if a["source"] == "expected" else "realised (from the labels)"
        day = ui.when(date.fromisoformat(a["as_of"]))
        st.error(f"**Retrain:** the {what} AUC of the run of {day} is {a['value']:.3f}, below the "
                 f"floor {a['limit']:.2f} ({a['model_version']}). Train a new model and review it against the "
                 "champion.", icon=":material/model_training:")
    if unfair:
        listed = "; ".join(f"{ui.label(a['attribute'])} {a['group']}: "
                           f"{'adverse impact' if a['metric'] == 'adverse_impact_ratio' else 'TPR gap'} "
                           f"{ui.num(a['value'], 2)} (limit {ui.num(a['limit'], 2)}, {a['source']} figures of "
                           f"{ui.when(date.fromisoformat(a['as_of']))})" for a in unfair[:6])
        st.warning(f"**Fairness:** {len(unfair)} group(s) beyond the configured limits — {listed}"
                   f"{' …' if len(unfair) > 6 else ''}. See Model Performance and the model report.",
                   icon=":material/balance:")
    return int(bool(retrain)) + int(bool(unfair))


def score_changes(ctx: core.Context) -> None:
    st.markdown("#### Recent score changes")
    if not ctx.has_scores:
        ui.empty("No scores yet.")
        return
    ch = mq.score_changes(ctx.as_of, ctx.model_version)
    if ch.empty:
        ui.empty("No tier change or large score move in the latest run.")
        return
    st.dataframe(ui.styled(pd.DataFrame({
        "Customer": ch["customer_id"], "Name": ch["full_name"],
        "Tier": ch["prev_tier"].fillna("—") + " → " + ch["tier"], "PD before": ch["prev_pd"] * 100,
        "PD now": ch["pd"] * 100, "Δ score": ch["score_change"], "Top reason": ch["top_reason"]}),
        {"Tier": ui.TIER_COLORS}),
        hide_index=True, height=ui.rows_height(len(ch), 360), column_config={
            "Customer": st.column_config.NumberColumn(format="%d"),
            "PD before": st.column_config.NumberColumn(format="%.1f%%"),
            "PD now": st.column_config.NumberColumn(format="%.1f%%")})


def runs_table() -> None:
    st.markdown("#### Batch runs")
    runs = mq.recent_runs()
    if runs.empty:
        ui.empty("No batch run yet.", "Runs of generate, train and nightly appear here with their status.")
        return
    st.dataframe(ui.styled(pd.DataFrame({
        "Run": runs["run_id"], "Kind": runs["kind"].str.capitalize(),
        "Status": runs["status"], "Progress": runs["progress"] * 100,
        "Started": runs["started_at"], "Duration": runs["seconds"].map(ui.duration),
        "By": runs["triggered_by"], "Message": runs["error"].fillna(runs["message"])}), {"Status": ui.STATUS_COLORS}),
        hide_index=True, height=ui.rows_height(len(runs), 360), column_config={
            "Progress": st.column_config.ProgressColumn(format="%.0f%%", min_value=0, max_value=100),
            "Started": st.column_config.DatetimeColumn(format="D MMM HH:mm:ss")})


def audit_chain() -> None:
    """The audit trail's tamper evidence, for those who may read the whole trail."""
    chain = mq.audit_chain()
    head = chain["head"] or {"seq": 0, "hash": ""}
    if chain["intact"]:
        st.caption(f":material/verified_user: Audit trail intact: the newest {chain['rows']:,} rows match their "
                   f"hash chain; head #{head['seq']} `{head['hash'][:16]}` (`pde audit verify` checks every row)")
    else:
        bad = chain["first_broken"]
        st.error(f"**The audit trail was altered** at row #{bad['seq']} ({bad['actor']}, {ui.label(bad['action'])}, "
                 f"{bad['at']}): {bad['problem']}. Rows from there on cannot be trusted; `pde audit verify` "
                 "gives the same answer.", icon=":material/gpp_bad:")


def activity() -> None:
    user = actions.current_user()
    everyone = allowed(user, "view_audit")
    if everyone:
        audit_chain()
    st.markdown("#### Activity log" + ("" if everyone else " (your own actions)"))
    log = mq.activity(None if everyone else user.username)
    if log.empty:
        ui.empty("No activity recorded yet.")
        return
    st.dataframe(pd.DataFrame({
        "When": log["at"], "Who": log["actor"], "Action": log["action"].map(ui.label),
        "On": log["entity"] + " " + log["entity_id"].fillna("")}),
        hide_index=True, height=ui.rows_height(len(log)),
        column_config={"When": st.column_config.DatetimeColumn(format="D MMM HH:mm:ss")})


@st.fragment(run_every=REFRESH_SECONDS)
@ui.guarded
def live() -> None:
    ctx = core.context()
    st.caption(f":material/autorenew: Updated {datetime.now():%H:%M:%S} · business date "
               f"{ui.when(core.business_date())} · latest scoring {ui.when(ctx.as_of)} · model "
               f"{ctx.model_version or '—'}")
    alerts(ctx)
    c1, c2 = st.columns(2)
    with c1:
        score_changes(ctx)
    with c2:
        runs_table()
    activity()


live()
