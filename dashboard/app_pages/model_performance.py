"""Model Performance: champion and challengers side by side, performance before the labels arrive, drift, fairness,
the model report, promotion (managers and admins), and the uplift models' effects of contacts."""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from dashboard import actions, charts_model, ui
from dashboard.queries import models as mdq
from dashboard.queries import monitor as mq
from predelinquency.model.psi import RETRAIN_ABOVE, WATCH_FROM, psi_band
from predelinquency.operations.permissions import allowed, authorise

ui.header("Model Performance", "How well each model separates, calibrates and saves cost on the out-of-time test.")
ui.show_flash()
BAND_COLORS = {"Retrain": ui.TIER_COLORS["Critical"], "Watch": ui.TIER_COLORS["Medium"],
               "Stable": ui.TIER_COLORS["Low"]}
FMT = {"pct": ui.pct, "num": lambda v: ui.num(v, 4), "money": ui.money}


def metrics_table(chosen: pd.DataFrame) -> None:
    rows = []
    for key, label, kind in mdq.SUMMARY_METRICS:
        values = [m.get(key) for m in chosen["metrics"]]
        if all(v is None for v in values):
            continue
        rows.append({"Metric": label, **{f"{r.version} ({r.status})": FMT[kind](m.get(key))
                                          for r, m in zip(chosen.itertuples(), chosen["metrics"], strict=True)}})
    learners = {}
    for r, m in zip(chosen.itertuples(), chosen["metrics"], strict=True):
        for learner, auc in (m.get("per_learner_auc") or {}).items():
            learners.setdefault(learner, {})[f"{r.version} ({r.status})"] = ui.num(auc, 4)
    rows += [{"Metric": f"AUC of {learner} alone", **v} for learner, v in learners.items()]
    if rows:
        st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch", height=35 * (len(rows) + 1) + 3)
    else:
        ui.empty("These models have no evaluation metrics recorded.")


def curves(chosen: pd.DataFrame) -> None:
    models = {r.version: m for r, m in zip(chosen.itertuples(), chosen["metrics"], strict=True)}
    c1, c2 = st.columns(2)
    c1.plotly_chart(charts_model.roc(models), key="roc")
    c2.plotly_chart(charts_model.pr(models), key="pr")
    c1, c2 = st.columns(2)
    c1.plotly_chart(charts_model.calibration(models), key="cal")
    c2.plotly_chart(charts_model.cost(models), key="cost")
    cols = st.columns(min(len(models), 3))
    for i, (name, m) in enumerate(list(models.items())[:3]):
        fig = charts_model.confusion(m, name)
        if fig is not None:
            cols[i].plotly_chart(fig, key=f"cm-{name}")
    tabs = st.tabs([f"Importance · {name}" for name in models])
    for tab, (name, m) in zip(tabs, models.items(), strict=True):
        fig = charts_model.importance(m, name)
        with tab:
            if fig is None:
                ui.empty("No feature importance recorded for this model.")
            else:
                st.plotly_chart(fig, key=f"imp-{name}")


def performance_over_time() -> None:
    st.markdown("#### Performance before the labels arrive")
    report = mq.performance()
    runs = pd.DataFrame(report["runs"])
    if runs.empty:
        ui.empty("No nightly run has recorded its performance yet.", "Each nightly run estimates the AUC and default "
                 "rate its calibrated PDs expect; once its 30-day outcome window has closed, the realised ones.")
        return
    runs["as_of"] = pd.to_datetime(runs["as_of"])
    for column in ("expected_auc", "realised_auc", "expected_default_rate", "realised_default_rate", "score_psi",
                   "worst_feature_psi"):  # a column not realised yet holds only None
        runs[column] = pd.to_numeric(runs[column], errors="coerce")
    runs = runs.sort_values("as_of")
    c1, c2 = st.columns([2, 1])
    c1.plotly_chart(charts_model.performance_over_time(runs, report["auc_floor"]), key="performance")
    c1.caption("Expected: confidence-based estimation from the calibrated PDs alone (as NannyML's CBPE), the night "
               "the run scores. Realised: from the labels once the data cover the outcome window and its grace "
               f"period. An expected or realised AUC below {report['auc_floor']:.2f} raises the retrain alert.")
    newest = runs.iloc[::-1]
    c2.dataframe(pd.DataFrame({
        "Scored": newest["as_of"], "Model": newest["model_version"],
        "Expected AUC": newest["expected_auc"].round(3), "Realised AUC": newest["realised_auc"].round(3),
        "Score PSI": newest["score_psi"].round(3),
        "Worst feature": newest["worst_feature"].map(lambda f: ui.feature_label(f) if isinstance(f, str) else "—"),
        "Its PSI": newest["worst_feature_psi"].round(3)}), hide_index=True, height=380,
        column_config={"Scored": st.column_config.DateColumn(format="D MMM YYYY")})


def fairness(versions: pd.DataFrame) -> None:
    st.markdown("#### Fairness of the champion (out-of-time test)")
    champion = versions[versions["status"] == "champion"]
    figures = champion.iloc[0]["metrics"].get("fairness") if not champion.empty else None
    if not isinstance(figures, dict) or not figures.get("attributes"):
        ui.empty("The champion has no fairness figures recorded.", "Models trained since fairness was added carry "
                 "them: each sensitive attribute's groups on the out-of-time test.")
        return
    alerts = {(a.get("attribute"), a.get("group")) for a in figures.get("alerts") or []}
    rows = [{"Attribute": ui.label(attr), "Group": g.get("group"), "Customers": g.get("n"),
             "Flagged": ui.pct(g.get("flagged_share")), "Adverse impact": ui.num(g.get("adverse_impact_ratio"), 2),
             "AUC": ui.num(g.get("auc"), 3), "Mean PD": ui.pct(g.get("mean_pd")),
             "Observed": ui.pct(g.get("observed_rate")), "TPR gap": ui.num(g.get("tpr_gap"), 2),
             "Status": "Alert" if (attr, g.get("group")) in alerts else "Too small" if g.get("too_small") else "OK"}
            for attr, a in figures["attributes"].items() for g in a.get("groups") or []]
    st.dataframe(ui.styled(pd.DataFrame(rows), {"Status": {"Alert": ui.TIER_COLORS["Critical"],
                                                           "Too small": "#9e9e9e", "OK": ui.TIER_COLORS["Low"]}}),
                 hide_index=True, height=ui.rows_height(len(rows)))
    st.caption(f"{champion.iloc[0]['version']} · {figures.get('rows', 0):,} customers of the out-of-time test. "
               "Flagged: High or Critical. Adverse impact: a group's share not flagged over the most favoured "
               "group's (alert below the configured minimum); TPR gap: the best-served group's share of defaulters "
               "flagged minus the group's (alert above the configured maximum). Groups too small get no alert.")


def drift() -> None:
    st.markdown("#### Drift (population stability index)")
    psi = mq.latest_psi()
    if not psi:
        ui.empty("No nightly run has recorded PSI yet.", "Drift is measured by each nightly scoring run against the "
                 "champion's training baseline.")
        return
    c1, c2 = st.columns([1, 2])
    band = psi_band(psi["score"] or 0)
    c1.metric("Score PSI (latest nightly run)", ui.num(psi["score"], 3), border=True,
              help=f"Below {WATCH_FROM} stable, {WATCH_FROM}–{RETRAIN_ABOVE} watch, above {RETRAIN_ABOVE} retrain")
    c1.caption(f"Band: **{band}** · run {psi['run_id']} · {ui.when(psi['finished_at'])}")
    hist = mq.psi_history()
    if len(hist) > 1:
        c1.dataframe(pd.DataFrame({"Run": hist["run_id"], "Finished": hist["finished_at"],
                                   "Score PSI": hist["score_psi"].round(3),
                                   "Worst feature": hist["worst_feature"].map(
                                       lambda f: ui.feature_label(f) if f else "—"),
                                   "Its PSI": hist["worst_feature_psi"].round(3)}).iloc[::-1],
                     hide_index=True, column_config={"Finished": st.column_config.DatetimeColumn(format="D MMM")})
    if psi["features"]:
        c2.plotly_chart(charts_model.psi_bars(psi["features"]), key="psi")
        table = pd.DataFrame(sorted(psi["features"].items(), key=lambda kv: -kv[1]), columns=["feature", "psi"])
        with st.expander(f"PSI of all {len(table)} monitored features"):
            st.dataframe(ui.styled(pd.DataFrame({
                "Feature": table["feature"].map(ui.feature_label), "Code": table["feature"],
                "PSI": table["psi"].round(3), "Band": table["psi"].map(lambda v: psi_band(v).capitalize())}),
                {"Band": BAND_COLORS}), hide_index=True, height=ui.rows_height(len(table)))


def model_report(picked: list[str]) -> None:
    st.markdown("#### Model report")
    c1, c2, c3, c4 = st.columns([1.6, 1, 1, 1])
    version = c1.selectbox("Model", picked, key="report_version",
                           help="Purpose, data, features, method, out-of-time performance, stability, fairness and "
                                "limitations: the document a validator reviews, every figure from the registry")
    ready = st.session_state.get("model_report_ready")
    if c2.button("Prepare the report", icon=":material/description:"):
        with st.spinner("Writing the model report…"):
            mdq.model_report(version)
        ready = st.session_state["model_report_ready"] = version
    if ready != version:
        return
    c3.download_button("Download HTML", mdq.model_report(version), file_name=f"model-report-{version}.html",
                       mime="text/html", icon=":material/download:")
    if c4.button("Prepare PDF", icon=":material/picture_as_pdf:"):
        with st.spinner("Converting to PDF…"):
            st.session_state["model_report_pdf"] = version if mdq.model_report_pdf(version) else None
    if st.session_state.get("model_report_pdf") == version:
        c4.download_button("Download PDF", mdq.model_report_pdf(version), file_name=f"model-report-{version}.pdf",
                           mime="application/pdf", icon=":material/download:")


def _promote_control(versions: pd.DataFrame, *, what: str, none_caption: str | None, select_label: str,
                     check_label: str, check_help: str, button: str, promote: Callable[[], Callable],
                     done: str, history: pd.DataFrame, version_column: str, key: str) -> None:
    """A manager's promotion of a challenger (PD or uplift model), then the promotions so far."""
    user = actions.current_user()
    challengers = versions[versions["status"] == "challenger"]["version"].tolist()
    if not allowed(user, "promote_model"):
        st.caption(f":material/lock: Only managers and admins can promote {what} to champion.")
    elif not challengers:
        if none_caption:
            st.caption(none_caption)
    else:
        c1, c2, c3 = st.columns([1.2, 1.6, 1])
        version = c1.selectbox(select_label, challengers)
        sure = c2.checkbox(check_label, key=key, help=check_help)
        if c3.button(button, type="primary", disabled=not sure, icon=":material/workspace_premium:"):
            def write(conn):
                current = authorise(conn, user, "promote_model")  # enforced here, not only by hiding the button
                return promote()(conn, version, current.username)
            actions.perform(write, lambda r: done.format(version=r["version"],
                                                         previous=r["previous_champion"] or "none"))
    if not history.empty:
        st.dataframe(pd.DataFrame({"Promoted": history["promoted_at"], version_column: history["version"],
                                   "Previous champion": history["previous_champion"].fillna("—"),
                                   "By": history["promoted_by"]}), hide_index=True,
                     column_config={"Promoted": st.column_config.DatetimeColumn(format="D MMM YYYY HH:mm")})


def _pd_promote() -> Callable:
    from predelinquency.model.registry import promote  # loads the model stack: only when promoting

    return promote


def _uplift_promote() -> Callable:
    from predelinquency.model.uplift.registry import promote_uplift  # loads the model stack: only when promoting

    return promote_uplift


def promotion(all_versions: pd.DataFrame) -> None:
    st.markdown("#### Promotion")
    _promote_control(all_versions, what="a challenger",
                     none_caption="No challenger to promote: train a new model to get one.",
                     select_label="Challenger", check_label="I have reviewed it against the champion",
                     check_help="The champion scores tonight's run.", button="Promote to champion",
                     promote=_pd_promote, done="{version} is now the champion (previous: {previous}). "
                                               "Tonight's scoring uses it.",
                     history=mdq.promotions(), version_column="Version", key="pd_sure")


def _uplift_figures(actions: dict) -> pd.DataFrame:
    """One row per action: its shrinkage weight, outcomes and the held-out test's figures, learned vs prior."""
    def q(f: dict, side: str, key: str) -> object:
        return (f.get(side) or {}).get(key)

    def at(f: dict, side: str, k: str) -> str:
        v = ((f.get(side) or {}).get("uplift_at") or {}).get(k)
        return ui.points(v) if isinstance(v, float) else "—"

    def corr(f: dict, side: str) -> str:
        return ui.num(((f.get("truth") or {}).get(side) or {}).get("pearson"), 2)

    return pd.DataFrame([{
        "Action": ui.label(a), "Weight of learned": ui.pct(f.get("weight"), 0),
        "Contacted outcomes": f.get("outcomes"), "Effective outcomes": ui.num(f.get("effective_outcomes")),
        "Qini (learned)": ui.num(q(f, "learned", "coefficient"), 4),
        "Qini (prior)": ui.num(q(f, "prior", "coefficient"), 4),
        "Top 10 % (learned)": at(f, "learned", "10"), "Top 10 % (prior)": at(f, "prior", "10"),
        "Top 30 % (learned)": at(f, "learned", "30"), "Top 30 % (prior)": at(f, "prior", "30"),
        "Corr. with true uplift (learned)": corr(f, "learned"), "(prior)": corr(f, "prior"),
    } for a, f in actions.items()])


def _qini_chart(f: dict, action: str) -> go.Figure | None:
    learned, prior = (f.get("learned") or {}).get("curve"), (f.get("prior") or {}).get("curve")
    if not learned or not prior:
        return None
    share = [100 * x for x, _ in learned]
    end = learned[-1][1]  # every ranking reaches the same point when everybody is contacted
    fig = go.Figure()
    fig.add_scatter(x=share, y=[100 * y for _, y in learned], name="Learned", mode="lines")
    fig.add_scatter(x=share, y=[100 * y for _, y in prior], name="Configured rates", mode="lines")
    fig.add_scatter(x=[0, 100], y=[0, 100 * end], name="Random", mode="lines", line={"dash": "dot"})
    fig = ui.style(fig, f"Qini curve · {ui.label(action)}", "Share of customers contacted, best first (%)",
                   "Misses prevented per 100 contacted", height=380)
    # three charts share a row: a legend beside the title would run into it, so it goes under the axis
    return fig.update_layout(legend={"yanchor": "top", "y": -0.28, "xanchor": "left", "x": 0},
                             margin={"b": 60})


def uplift_models() -> None:
    st.markdown("#### Effects of contacts (uplift model)")
    versions = mdq.uplift_versions()
    if versions.empty:
        ui.empty("No uplift model has been trained yet: the plan uses each action's configured success rate.",
                 "`pde train --effects` (and the nightly, once enough contact outcomes have settled) learns which "
                 "contact prevents a miss for whom, from the contacted and the held-out customers.")
        return
    st.dataframe(pd.DataFrame({
        "Version": versions["version"], "Status": versions["status"], "Trained": versions["created_at"],
        "Outcomes learned from": versions["outcomes"],
        "Plan dates": [f"{a} – {b}" for a, b in zip(versions["trained_from"], versions["trained_until"], strict=True)],
        "PD model": versions["pd_model_version"], "By": versions["trained_by"]}), hide_index=True,
        height=ui.rows_height(len(versions)),
        column_config={"Trained": st.column_config.DatetimeColumn(format="D MMM YYYY HH:mm")})
    label = {r.version: f"{r.version} · {r.status}" for r in versions.itertuples()}
    version = st.selectbox("Uplift model", list(label), format_func=label.get, key="uplift_version")
    metrics = versions.set_index("version").loc[version, "metrics"]
    actions, test = metrics.get("actions") or {}, metrics.get("test") or {}
    st.dataframe(_uplift_figures(actions), hide_index=True, height=ui.rows_height(len(actions)))
    st.caption(f"Tested on {test.get('rows', 0):,} plan outcomes it did not learn from ({test.get('from', '—')} to "
               f"{test.get('until', '—')}). Weight of learned: how far each action's estimate has moved from its "
               "configured success rate, growing with its outcomes. Qini: misses prevented by contacting the customers "
               "the model ranks first, above a random order (0); Top k %: the held-out minus the contacted miss rate "
               "among them, in points. On the synthetic bank, the correlation with the generator's true uplift.")
    charts = [(a, fig) for a, f in actions.items() if (fig := _qini_chart(f, a)) is not None]
    for col, (a, fig) in zip(st.columns(min(len(charts), 3) or 1), charts[:3], strict=False):
        col.plotly_chart(fig, key=f"qini-{a}")
    uplift_promotion(versions)


def uplift_promotion(versions: pd.DataFrame) -> None:
    _promote_control(versions, what="an uplift challenger", none_caption=None, select_label="Uplift challenger",
                     check_label="I have compared its Qini with the champion's",
                     check_help="Tonight's plan estimates every contact's effect with the champion.",
                     button="Promote uplift model", promote=_uplift_promote,
                     done="Uplift model {version} is now the champion (previous: {previous}). Tonight's plan uses it.",
                     history=mdq.uplift_promotions(), version_column="Uplift model", key="uplift_sure")


@ui.guarded
def page() -> None:
    versions = mdq.versions(include_retired=True)
    if versions.empty:
        ui.empty("No model has been trained yet.",
                 "A manager can train one from **Data Management** (or run `pde train`).")
        return
    live = versions[versions["status"] != "retired"]
    label = {r.version: f"{r.version} · {r.status} · {ui.when(r.created_at)}" for r in versions.itertuples()}
    default = live["version"].tolist()[:4] or versions["version"].tolist()[:1]
    picked = st.multiselect("Models to compare", list(label), default=default, format_func=label.get,
                            max_selections=6)
    if not picked:
        ui.empty("Choose at least one model to compare.")
        return
    chosen = versions.set_index("version").loc[picked].reset_index()
    metrics_table(chosen)
    curves(chosen)
    performance_over_time()
    drift()
    fairness(versions)
    model_report(picked)
    promotion(versions)
    uplift_models()


page()
