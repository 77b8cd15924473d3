"""Intervention figures: miss rates of the contacted and the held out, contact results, response times, activity."""

from __future__ import annotations

from typing import Any

import pandas as pd
import plotly.graph_objects as go

from dashboard import ui

OUTCOME_COLORS = {"reached": "#2e7d32", "promise_to_pay": "#66bb6a", "no_answer": "#9e9e9e", "refused": "#ef6c00"}
ARM_COLORS = {"Contacted": "#1f4e79", "Held out": "#ef6c00"}


def weekly_miss_rates(weekly: list[dict[str, Any]]) -> go.Figure:
    """Per week of plans: the contacted and the held-out customers' miss rates (the gap is the contacts' effect)."""
    df = pd.DataFrame(weekly)
    fig = go.Figure()
    for name, rate, n in (("Contacted", "miss_rate_contacted", "contacted"),
                          ("Held out", "miss_rate_holdout", "holdout")):
        fig.add_scatter(x=pd.to_datetime(df["week"]), y=df[rate].astype(float) * 100, name=name,
                        mode="lines+markers", line_color=ARM_COLORS[name], marker_size=8, customdata=df[n],
                        hovertemplate=f"week of %{{x|%d %b %Y}}: %{{y:.1f}}% missed of %{{customdata:,}} "
                                      f"{name.lower()}<extra></extra>")
    fig.update_yaxes(rangemode="tozero")
    return ui.style(fig, "Miss rates by week: contacted vs held out", "Week of the plan (business date)",
                    "Missed the next instalment (%)")


def outcomes(dist: pd.DataFrame) -> go.Figure:
    """How many of each contact result were recorded."""
    fig = go.Figure(go.Bar(x=dist["outcome"].map(ui.label), y=dist["n"],
                           marker_color=[OUTCOME_COLORS.get(o, ui.PRIMARY) for o in dist["outcome"]],
                           hovertemplate="%{x}: %{y:,}<extra></extra>"))
    fig.update_layout(bargap=0.35)
    ui.count_axis(fig, dist["n"].max())
    return ui.style(fig, "Contact results", "Result", "Interventions")


def response_times(rt: pd.DataFrame) -> go.Figure:
    """Outcomes by whole days between contact and response (30 means 30 or more)."""
    fig = go.Figure(go.Bar(x=rt["days"], y=rt["n"], marker_color=ui.SERIES[4],
                           hovertemplate="%{x} days: %{y:,} responses<extra></extra>"))
    fig.update_xaxes(dtick=1 if rt["days"].max() <= 14 else None, range=[-0.5, max(7, rt["days"].max()) + 0.5])
    ui.count_axis(fig, rt["n"].max())
    return ui.style(fig, "Time to response (30 = 30 days or more)", "Days after contact", "Responses")


def timeline(tl: pd.DataFrame) -> go.Figure:
    """Interventions made per business date, and how many of them have a contact result."""
    # one category per day with activity: a bar stays visible however few days there are
    days = pd.to_datetime(tl["day"]).dt.strftime("%d %b %Y")
    fig = go.Figure()
    fig.add_bar(x=days, y=tl["created"], name="Interventions created", marker_color=ui.PRIMARY,
                hovertemplate="%{x}: %{y:,} created<extra></extra>")
    fig.add_bar(x=days, y=tl["responded"], name="With a contact result", marker_color=ui.TIER_COLORS["Low"],
                hovertemplate="%{x}: %{y:,} with a result<extra></extra>")
    fig.update_xaxes(type="category")
    fig.update_layout(barmode="group", bargap=0.35 if len(days) > 3 else 0.6)
    ui.count_axis(fig, tl[["created", "responded"]].to_numpy().max() if len(tl) else 1)
    return ui.style(fig, "Interventions over time", "Business date", "Count")
