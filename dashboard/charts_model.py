"""Model evaluation figures (ROC, PR, calibration, cost, confusion, importance), several models overlaid."""

from __future__ import annotations

from typing import Any

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from dashboard import ui
from predelinquency.model.psi import RETRAIN_ABOVE, WATCH_FROM, psi_band


def curve(metrics: dict[str, Any], name: str) -> dict[str, Any]:
    """A curve from a model's metrics JSON, under 'curves' or at the top level; {} when absent or malformed."""
    nested = metrics.get("curves") if isinstance(metrics.get("curves"), dict) else {}
    value = nested.get(name, metrics.get(name))
    return value if isinstance(value, dict) else {}


def _color(i: int) -> str:
    return ui.SERIES[i % len(ui.SERIES)]


def roc(models: dict[str, dict[str, Any]]) -> go.Figure:
    fig = go.Figure()
    fig.add_scatter(x=[0, 1], y=[0, 1], mode="lines", line={"dash": "dot", "color": "#9e9e9e"}, name="Chance")
    for i, (name, m) in enumerate(models.items()):
        c = curve(m, "roc")
        if c.get("fpr"):
            auc = m.get("oot_auc")
            fig.add_scatter(x=c["fpr"], y=c["tpr"], mode="lines", line_color=_color(i),
                            name=f"{name} (AUC {auc:.3f})" if isinstance(auc, int | float) else name)
    return ui.style(fig, "ROC curve (out-of-time test)", "False-positive rate", "True-positive rate")


def pr(models: dict[str, dict[str, Any]]) -> go.Figure:
    fig = go.Figure()
    for i, (name, m) in enumerate(models.items()):
        c = curve(m, "pr")
        if c.get("recall"):
            ap = m.get("oot_pr_auc")
            fig.add_scatter(x=c["recall"], y=c["precision"], mode="lines", line_color=_color(i),
                            name=f"{name} (AP {ap:.3f})" if isinstance(ap, int | float) else name)
    return ui.style(fig, "Precision–recall curve", "Recall", "Precision")


def calibration(models: dict[str, dict[str, Any]]) -> go.Figure:
    fig = go.Figure()
    top = 0.05
    for i, (name, m) in enumerate(models.items()):
        c = curve(m, "calibration")
        if c.get("pred"):
            top = max(top, *c["pred"], *c["true"])
            fig.add_scatter(x=[v * 100 for v in c["pred"]], y=[v * 100 for v in c["true"]], mode="lines+markers",
                            line_color=_color(i), name=name, customdata=c.get("count"),
                            hovertemplate="predicted %{x:.1f}% · observed %{y:.1f}% · %{customdata:,} rows"
                                          "<extra></extra>")
    fig.add_scatter(x=[0, top * 100], y=[0, top * 100], mode="lines", line={"dash": "dot", "color": "#9e9e9e"},
                    name="Perfect calibration")
    return ui.style(fig, "Calibration: predicted vs observed default rate", "Predicted PD (%)", "Observed rate (%)")


def cost(models: dict[str, dict[str, Any]]) -> go.Figure:
    fig = go.Figure()
    for i, (name, m) in enumerate(models.items()):
        c = curve(m, "cost_curve")
        if c.get("threshold"):
            fig.add_scatter(x=c["threshold"], y=c["cost"], mode="lines", line_color=_color(i), name=name)
            t = m.get("threshold")
            if isinstance(t, int | float):
                fig.add_vline(x=t, line_dash="dot", line_color=_color(i))
        base = m.get("expected_cost_no_model")
        if i == 0 and isinstance(base, int | float):
            fig.add_hline(y=base, line_dash="dash", line_color="#9e9e9e", annotation_text="No model")
    fig.update_xaxes(type="log", tickvals=[0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1],
                     ticktext=["0.1%", "0.2%", "0.5%", "1%", "2%", "5%", "10%", "20%", "50%", "100%"])
    return ui.style(fig, "Expected cost by decision threshold (dotted: chosen threshold)", "PD threshold (log scale)",
                    f"Expected cost ({ui.CURRENCY})")


def confusion(m: dict[str, Any], name: str) -> go.Figure | None:
    c = curve(m, "confusion")
    if not all(k in c for k in ("tp", "fp", "tn", "fn")):
        return None
    z = [[c["tn"], c["fp"]], [c["fn"], c["tp"]]]
    text = [[f"True negative<br>{c['tn']:,}", f"False positive<br>{c['fp']:,}"],
            [f"Missed (false negative)<br>{c['fn']:,}", f"Caught (true positive)<br>{c['tp']:,}"]]
    fig = go.Figure(go.Heatmap(z=z, x=["Predicted: pays", "Predicted: misses"], y=["Actual: paid", "Actual: missed"],
                               text=text, texttemplate="%{text}", colorscale="Blues", showscale=False,
                               hovertemplate="%{text}<extra></extra>"))
    fig.update_yaxes(autorange="reversed")
    t = m.get("threshold")
    return ui.style(fig, f"{name}: confusion at threshold " + (f"{t:.3f}" if isinstance(t, int | float) else ""),
                    "Prediction", "Actual", height=300)


def importance(m: dict[str, Any], name: str, top: int = 15) -> go.Figure | None:
    items = [i for i in (m.get("importance") or []) if isinstance(i, dict) and "feature" in i][:top]
    if not items:
        return None
    items = items[::-1]
    fig = go.Figure(go.Bar(x=[i.get("importance", 0) for i in items],
                           y=[ui.wrap(ui.feature_label(i["feature"]), 44, 1) for i in items], orientation="h",
                           marker_color=ui.PRIMARY, hovertemplate="%{y}: %{x:.3f}<extra></extra>"))
    return ui.style(fig, f"{name}: feature importance (mean |SHAP|)", "Mean absolute contribution (log-odds)",
                    None, height=max(320, 26 * len(items) + 90))


def psi_bars(features: dict[str, float], top: int = 20) -> go.Figure:
    items = sorted(features.items(), key=lambda kv: kv[1], reverse=True)[:top][::-1]
    band_colors = {"retrain": ui.TIER_COLORS["Critical"], "watch": ui.TIER_COLORS["Medium"],
                   "stable": ui.TIER_COLORS["Low"]}
    colors = [band_colors[psi_band(v)] for _, v in items]
    fig = go.Figure(go.Bar(x=[v for _, v in items], y=[ui.wrap(ui.feature_label(k), 44, 1) for k, _ in items],
                           orientation="h",
                           marker_color=colors, hovertemplate="%{y}: PSI %{x:.3f}<extra></extra>"))
    fig.add_vline(x=RETRAIN_ABOVE, line_dash="dot", line_color=ui.TIER_COLORS["Critical"], annotation_text="Retrain",
                  annotation_position="bottom right")
    fig.add_vline(x=WATCH_FROM, line_dash="dot", line_color=ui.TIER_COLORS["Medium"], annotation_text="Watch",
                  annotation_position="bottom right")
    return ui.style(fig, "Feature drift in the latest nightly run (PSI)", "PSI", None,
                    height=max(300, 24 * len(items) + 90))


def performance_over_time(runs: pd.DataFrame, floor: float) -> go.Figure:
    """Expected (from the PDs alone) and realised (from the labels) AUC and default rate per nightly run."""
    fig = make_subplots(specs=[[{"secondary_y": True}]])
    lines = (("expected_auc", "Expected AUC", ui.SERIES[0], "dot", False),
             ("realised_auc", "Realised AUC", ui.SERIES[0], "solid", False),
             ("expected_default_rate", "Expected default rate", ui.SERIES[1], "dot", True),
             ("realised_default_rate", "Realised default rate", ui.SERIES[1], "solid", True))
    for column, name, color, dash, rate in lines:
        y = runs[column] * 100 if rate else runs[column]
        fig.add_scatter(x=runs["as_of"], y=y, name=name, mode="lines+markers", connectgaps=False,
                        line={"color": color, "dash": dash}, marker={"size": 5},
                        hovertemplate="%{x|%d %b %Y} · " + name + (" %{y:.2f}%" if rate else " %{y:.3f}")
                        + "<extra></extra>",
                        secondary_y=rate)
    fig.add_hline(y=floor, line_dash="dash", line_color=ui.TIER_COLORS["Critical"], annotation_text="AUC floor",
                  annotation_position="bottom left")
    fig.update_yaxes(title_text="AUC", secondary_y=False)
    fig.update_yaxes(title_text="Default rate (%)", secondary_y=True, rangemode="tozero", showgrid=False)
    return ui.style(fig, "Expected vs realised performance per nightly run", "Scoring date", None, height=380)
