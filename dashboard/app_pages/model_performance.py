"""Model Performance: champion and challengers side by side, drift, and promotion (managers and admins)."""

from __future__ import annotations

import pandas as pd
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


def promotion(all_versions: pd.DataFrame) -> None:
    st.markdown("#### Promotion")
    user = actions.current_user()
    challengers = all_versions[all_versions["status"] == "challenger"]["version"].tolist()
    if not allowed(user, "promote_model"):
        st.caption(":material/lock: Only managers and admins can promote a challenger to champion.")
    elif not challengers:
        st.caption("No challenger to promote: train a new model to get one.")
    else:
        c1, c2, c3 = st.columns([1.2, 1.6, 1])
        version = c1.selectbox("Challenger", challengers)
        sure = c2.checkbox("I have reviewed it against the champion", help="The champion scores tonight's run.")
        if c3.button("Promote to champion", type="primary", disabled=not sure, icon=":material/workspace_premium:"):
            def write(conn):
                from predelinquency.model.registry import promote  # loads the model stack: only when promoting

                current = authorise(conn, user, "promote_model")  # enforced here, not only by hiding the button
                return promote(conn, version, current.username)
            actions.perform(write, lambda r: f"{r['version']} is now the champion (previous: "
                                             f"{r['previous_champion'] or 'none'}). Tonight's scoring uses it.")
    hist = mdq.promotions()
    if not hist.empty:
        st.dataframe(pd.DataFrame({"Promoted": hist["promoted_at"], "Version": hist["version"],
                                   "Previous champion": hist["previous_champion"].fillna("—"),
                                   "By": hist["promoted_by"]}), hide_index=True,
                     column_config={"Promoted": st.column_config.DatetimeColumn(format="D MMM YYYY HH:mm")})


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
    drift()
    promotion(versions)


page()
