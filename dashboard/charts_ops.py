"""Intervention figures: effectiveness by type, outcome distribution, response times, activity over time."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from dashboard import ui

OUTCOME_COLORS = {"paid": "#2e7d32", "promise_to_pay": "#66bb6a", "restructured": "#00838f",
                  "no_response": "#9e9e9e", "refused": "#ef6c00", "defaulted": "#c62828"}


def effectiveness(by_type: pd.DataFrame) -> go.Figure:
    """Success rate and prevented-default rate per intervention type (of the outcomes recorded)."""
    df = by_type[by_type["outcomes"] > 0]
    labels = df["intervention_type"].map(ui.label)
    fig = go.Figure()
    fig.add_bar(x=labels, y=df["successes"] / df["outcomes"] * 100, name="Success rate", marker_color=ui.PRIMARY,
                customdata=df["outcomes"], hovertemplate="%{x}: %{y:.1f}% of %{customdata:,} outcomes<extra></extra>")
    fig.add_bar(x=labels, y=df["prevented"] / df["outcomes"] * 100, name="Prevented default",
                marker_color=ui.TIER_COLORS["Low"], customdata=df["outcomes"],
                hovertemplate="%{x}: %{y:.1f}% of %{customdata:,} outcomes<extra></extra>")
    fig.update_layout(barmode="group", bargap=0.35)
    return ui.style(fig, "Effectiveness by intervention type", "Intervention type", "Share of outcomes (%)")


def outcomes(dist: pd.DataFrame) -> go.Figure:
    """How many of each outcome were recorded."""
    fig = go.Figure(go.Bar(x=dist["outcome"].map(ui.label), y=dist["n"],
                           marker_color=[OUTCOME_COLORS.get(o, ui.PRIMARY) for o in dist["outcome"]],
                           hovertemplate="%{x}: %{y:,}<extra></extra>"))
    fig.update_layout(bargap=0.35)
    ui.count_axis(fig, dist["n"].max())
    return ui.style(fig, "Response distribution", "Outcome", "Interventions")


def response_times(rt: pd.DataFrame) -> go.Figure:
    """Outcomes by whole days between contact and response (30 means 30 or more)."""
    fig = go.Figure(go.Bar(x=rt["days"], y=rt["n"], marker_color=ui.SERIES[4],
                           hovertemplate="%{x} days: %{y:,} responses<extra></extra>"))
    fig.update_xaxes(dtick=1 if rt["days"].max() <= 14 else None, range=[-0.5, max(7, rt["days"].max()) + 0.5])
    ui.count_axis(fig, rt["n"].max())
    return ui.style(fig, "Time to response (30 = 30 days or more)", "Days after contact", "Responses")


def timeline(tl: pd.DataFrame) -> go.Figure:
    """Interventions created and outcomes recorded per day."""
    # one category per day with activity: a bar stays visible however few days there are
    days = pd.to_datetime(tl["day"]).dt.strftime("%d %b %Y")
    fig = go.Figure()
    fig.add_bar(x=days, y=tl["created"], name="Interventions created", marker_color=ui.PRIMARY,
                hovertemplate="%{x}: %{y:,} created<extra></extra>")
    fig.add_bar(x=days, y=tl["responded"], name="Responses recorded", marker_color=ui.TIER_COLORS["Low"],
                hovertemplate="%{x}: %{y:,} responses<extra></extra>")
    fig.update_xaxes(type="category")
    fig.update_layout(barmode="group", bargap=0.35 if len(days) > 3 else 0.6)
    ui.count_axis(fig, tl[["created", "responded"]].to_numpy().max() if len(tl) else 1)
    return ui.style(fig, "Interventions over time", "Day", "Count")
