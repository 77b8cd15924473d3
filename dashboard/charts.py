"""Plotly figures in the house style, built from the small aggregated frames the queries return."""

from __future__ import annotations

from typing import Any

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from dashboard import ui
from predelinquency.settings import Settings

FLAG_COLORS = {"Gambling": "#8e24aa", "Failed debit": "#c62828", "Lending app": "#ef6c00", "ATM spike": "#00838f"}


def tier_donut(tiers: pd.DataFrame) -> go.Figure:
    """Customers per tier, in tier order and colours."""
    df = tiers.set_index("tier").reindex(ui.TIERS).fillna(0).reset_index()
    fig = go.Figure(go.Pie(labels=df["tier"], values=df["customers"], hole=0.6, sort=False,
                           marker={"colors": [ui.TIER_COLORS[t] for t in df["tier"]]},
                           hovertemplate="%{label}: %{value:,} customers (%{percent})<extra></extra>",
                           textinfo="percent"))
    fig.add_annotation(text=f"<b>{int(df['customers'].sum()):,}</b><br>customers", showarrow=False, font_size=14)
    return ui.style(fig, "Customers by risk tier")


def pd_histogram(hist: pd.DataFrame, settings: Settings) -> go.Figure:
    """The PD distribution (bins from the database), bars coloured by the tier of each bin."""
    t = settings.scoring.tiers
    bounds = [(t["critical"], "Critical"), (t["high"], "High"), (t["medium"], "Medium"), (0, "Low")]
    colors = [ui.TIER_COLORS[next(name for b, name in bounds if lo >= b - 1e-12)] for lo in hist["lo"]]
    fig = go.Figure(go.Bar(x=(hist["lo"] + hist["hi"]) / 2 * 100, y=hist["customers"],
                           width=(hist["hi"] - hist["lo"]) * 100, marker_color=colors,
                           customdata=pd.concat([hist["lo"] * 100, hist["hi"] * 100], axis=1),
                           hovertemplate="PD %{customdata[0]:.1f}–%{customdata[1]:.1f}%: %{y:,} customers"
                                         "<extra></extra>"))
    for bound, name in bounds[:-1]:
        if bound * 100 <= float(hist["hi"].max()) * 100:
            fig.add_vline(x=bound * 100, line_dash="dot", line_color="#555",
                          annotation_text=name, annotation_position="top")
    return ui.style(fig, "Distribution of probability of default", "PD (%)", "Customers")


def segment_bars(seg: pd.DataFrame, measure: str, title: str, axis: str) -> go.Figure:
    """Per segment, stacked by tier; clickable (each bar's x is the segment)."""
    fig = go.Figure()
    for tier in ui.TIERS:
        part = seg[seg["tier"] == tier]
        fig.add_bar(x=part["segment"], y=part[measure], name=tier, marker_color=ui.TIER_COLORS[tier],
                    hovertemplate=f"%{{x}} · {tier}: %{{y:,.0f}}<extra></extra>")
    fig.update_layout(barmode="stack", clickmode="event+select")
    return ui.style(fig, title, "Segment", axis)


def trend(tr: pd.DataFrame) -> go.Figure:
    """Average PD (left axis) and high-risk customers (right axis) per scoring date."""
    fig = make_subplots(specs=[[{"secondary_y": True}]])
    fig.add_scatter(x=tr["as_of"], y=tr["avg_pd"] * 100, name="Average PD (%)", mode="lines+markers",
                    line_color=ui.PRIMARY, hovertemplate="%{x|%d %b}: %{y:.2f}%<extra></extra>")
    fig.add_bar(x=tr["as_of"], y=tr["high_risk"], name="High + Critical customers", opacity=0.35,
                marker_color=ui.TIER_COLORS["High"], secondary_y=True,
                hovertemplate="%{x|%d %b}: %{y:,} high-risk<extra></extra>")
    fig.update_yaxes(title_text="Average PD (%)", secondary_y=False, rangemode="tozero")
    fig.update_yaxes(title_text="High-risk customers", secondary_y=True, showgrid=False, rangemode="tozero",
                     tickmode="auto")
    return ui.style(fig, "Risk trend over the last 30 days", "Scoring date")


def drivers(dr: pd.DataFrame) -> go.Figure:
    """The most frequent reason codes among high-risk customers."""
    df = dr.iloc[::-1]
    labels = [ui.wrap(ui.feature_label(f)) for f in df["feature"]]
    fig = go.Figure(go.Bar(x=df["customers"], y=labels, orientation="h", marker_color=ui.PRIMARY,
                           customdata=df["avg_contribution"],
                           hovertemplate="%{y}: %{x:,} customers, mean contribution %{customdata:.2f}<extra></extra>"))
    return ui.style(fig, "Top risk drivers of High and Critical customers", "Customers with this reason",
                    None, height=max(340, 40 * len(df) + 90))


def gauge(pd_value: float, score: int, tier: str, settings: Settings) -> go.Figure:
    """The customer's PD on a dial whose bands are the tiers."""
    t = settings.scoring.tiers
    top = max(60.0, min(100.0, pd_value * 100 * 1.3))
    steps = [(0, t["medium"], "Low"), (t["medium"], t["high"], "Medium"), (t["high"], t["critical"], "High"),
             (t["critical"], 1.0, "Critical")]
    fig = go.Figure(go.Indicator(
        mode="gauge+number", value=pd_value * 100,
        number={"suffix": "%", "valueformat": ".1f", "font": {"size": 34, "color": ui.TIER_COLORS.get(tier, "#333")}},
        title={"text": f"{tier} · score {score}", "font": {"size": 14, "color": ui.TIER_COLORS.get(tier, "#333")}},
        gauge={"axis": {"range": [0, top], "ticksuffix": "%"}, "bar": {"color": "#263238", "thickness": 0.25},
               "steps": [{"range": [lo * 100, min(hi * 100, top)], "color": ui.TIER_COLORS[n]} for lo, hi, n in steps
                         if lo * 100 < top]}))
    fig = ui.style(fig, "Probability of default (30 days)", height=270)
    fig.update_layout(margin={"l": 30, "r": 30, "t": 70, "b": 10})
    return fig


def score_history(h: pd.DataFrame) -> go.Figure:
    """PD per scoring date, markers coloured by tier."""
    fig = go.Figure(go.Scatter(x=h["as_of"], y=h["pd"] * 100, mode="lines+markers", line_color="#90a4ae",
                               marker={"color": [ui.TIER_COLORS.get(t, "#999") for t in h["tier"]], "size": 8},
                               customdata=pd.concat([h["tier"], h["score"]], axis=1),
                               hovertemplate="%{x|%d %b %Y}: PD %{y:.1f}% · %{customdata[0]} · "
                                             "score %{customdata[1]}<extra></extra>"))
    return ui.style(fig, "Score history", "Scoring date", "PD (%)", height=260)


def contributions(reasons: list[dict[str, Any]]) -> go.Figure:
    """Each reason's contribution to the log-odds of missing a payment."""
    items = sorted(reasons, key=lambda r: r.get("contribution") or 0)
    fig = go.Figure(go.Bar(x=[r.get("contribution") or 0 for r in items],
                           y=[ui.wrap(ui.feature_label(str(r.get("feature", "?")))) for r in items], orientation="h",
                           marker_color=ui.TIER_COLORS["High"], text=[r.get("text", "") for r in items],
                           hovertemplate="%{y}: +%{x:.2f}<br>%{text}<extra></extra>", textposition="none"))
    # a short axis title: "contribution to the log-odds of a missed payment" was cut off in its half-width column
    return ui.style(fig, "What drives this customer's risk", "Added risk (log-odds)",
                    None, height=max(220, 60 * len(items) + 90))


def behaviour(b: pd.DataFrame) -> go.Figure:
    """Balance and salary credits over time, with the risky days marked underneath."""
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, row_heights=[0.72, 0.28], vertical_spacing=0.06)
    fig.add_scatter(x=b["day"], y=b["balance"], name="Current-account balance", line_color=ui.PRIMARY,
                    row=1, col=1, hovertemplate=f"%{{x|%d %b}}: {ui.CURRENCY}%{{y:,.0f}}<extra></extra>")
    sal = b[b["salary_in"] > 0]
    fig.add_scatter(x=sal["day"], y=sal["balance"], mode="markers", name="Salary credit", row=1, col=1,
                    marker={"symbol": "triangle-up", "size": 11, "color": ui.TIER_COLORS["Low"]},
                    customdata=sal["salary_in"],
                    hovertemplate=f"%{{x|%d %b}}: salary {ui.CURRENCY}%{{customdata:,.0f}}<extra></extra>")
    flags = {"Gambling": b["gambling_out"] > 0, "Failed debit": b["failed_debits"] > 0,
             "Lending app": (b["lending_app_in"] > 0) | (b["lending_app_out"] > 0), "ATM spike": b["atm_spike"]}
    for name, mask in flags.items():
        days = b.loc[mask.fillna(False).astype(bool), "day"]
        fig.add_scatter(x=days, y=[name] * len(days), mode="markers", name=name, row=2, col=1,
                        marker={"symbol": "square", "size": 9, "color": FLAG_COLORS[name]},
                        hovertemplate=f"%{{x|%d %b}}: {name}<extra></extra>")
    fig.update_yaxes(title_text=f"Balance ({ui.CURRENCY})", row=1, col=1)
    fig.update_yaxes(categoryorder="array", categoryarray=list(flags), row=2, col=1)
    fig.update_xaxes(title_text="Day", row=2, col=1)
    return ui.style(fig, "Behaviour timeline", height=430)
