"""House style for every page: tier colours, number formats, chart layout, messages and error handling."""

from __future__ import annotations

import functools
import logging
import math
import textwrap
from collections.abc import Callable
from datetime import date, datetime
from typing import Any, TypeVar

import pandas as pd
import plotly.graph_objects as go
import streamlit as st
from sqlalchemy.exc import SQLAlchemyError

from predelinquency.db.engine import DatabaseUnavailable
from predelinquency.domain.vocabulary import TIERS
from predelinquency.errors import Conflict, Forbidden, NotFound, PdeError

log = logging.getLogger("predelinquency.dashboard")
F = TypeVar("F", bound=Callable[..., Any])

CURRENCY = "€"
# one colour per tier of the domain's TIERS, least risky first (pages also read ui.TIERS for the order)
TIER_COLORS = dict(zip(TIERS, ("#2e7d32", "#f9a825", "#ef6c00", "#c62828"), strict=True))
URGENCY = {1: "Act now — expected to miss within days", 2: "Rising fast", 3: "High and stable"}
URGENCY_SHORT = {1: "1 · Act now", 2: "2 · Rising fast", 3: "3 · High & stable", 4: "4 · No action"}
SLA_COLORS = {"Overdue": "#c62828", "Approaching": "#ef6c00", "Within SLA": "#2e7d32"}
STATUS_COLORS = {"running": "#1565c0", "queued": "#6d7a8a", "succeeded": "#2e7d32", "failed": "#c62828"}
PRIMARY = "#1f4e79"
SERIES = ("#1f4e79", "#ef6c00", "#2e7d32", "#8e24aa", "#00838f", "#6d4c41")
ACTION_LABELS = {"none": "No action", "soft_reminder": "Soft reminder", "agent_call": "Agent call",
                 "restructuring_offer": "Restructuring offer", "payment_holiday": "Payment holiday",
                 "financial_counselling": "Financial counselling"}


def _missing(x: Any) -> bool:
    return x is None or (isinstance(x, float) and math.isnan(x))


def money(x: Any, decimals: int = 0) -> str:
    """€1,234 — or €1.23M / €368.1k for large figures when decimals is 0 (they must fit a KPI card)."""
    if _missing(x):
        return "—"
    v = float(x)
    sign = "-" if v < 0 else ""
    if decimals == 0 and abs(v) >= 1e6:
        return f"{sign}{CURRENCY}{abs(v) / 1e6:,.2f}M"
    if decimals == 0 and abs(v) >= 1e5:
        return f"{sign}{CURRENCY}{abs(v) / 1e3:,.1f}k"
    return f"{sign}{CURRENCY}{abs(v):,.{decimals}f}"


CHANNELS = {"sms": "SMS", "email": "Email", "phone": "Phone", "branch": "Branch", "app": "App"}


def channel(code: Any) -> str:
    """A contact channel as officers write it: SMS, Email, Phone, Branch, App."""
    return CHANNELS.get(str(code), str(code).capitalize()) if not _missing(code) else "—"


def pct(x: Any, decimals: int = 1) -> str:
    """A fraction as a percentage, 0.123 → 12.3 %; an em dash when missing."""
    return "—" if _missing(x) else f"{float(x) * 100:.{decimals}f}%"


def points(x: Any, decimals: int = 1) -> str:
    """A difference of two rates in percentage points, signed: 0.032 → +3.2 pts; an em dash when missing."""
    return "—" if _missing(x) else f"{float(x) * 100:+.{decimals}f} pts"


def interval(lo: Any, hi: Any, fmt: Callable[[Any], str]) -> str:
    """A 95 % interval as '[lo, hi]' in the given format; empty when missing."""
    return "" if _missing(lo) or _missing(hi) else f"[{fmt(lo)}, {fmt(hi)}]"


def num(x: Any, decimals: int = 0) -> str:
    """A number with thousands separators; an em dash when missing."""
    return "—" if _missing(x) else f"{float(x):,.{decimals}f}"


def hours(x: Any) -> str:
    """A duration in hours as '5.2 h' or '3.1 days'."""
    if _missing(x):
        return "—"
    v = float(x)
    return f"{v / 24:.1f} days" if abs(v) >= 48 else f"{v:.1f} h"


PAYMENT_OUTCOME_LABELS = {"paid": "Paid on time", "late": "Paid late", "missed": "Missed",
                          "no_instalment": "No instalment due"}


def payment_outcome(outcome: Any, due: Any = None) -> str:
    """How the next instalment after a contact ended, as settled by the nightly: 'Missed (due 12 Nov 2026)';
    'Awaiting' while the outcome window is open."""
    if _missing(outcome):
        return "Awaiting"
    text_ = PAYMENT_OUTCOME_LABELS.get(str(outcome), label(outcome))
    return text_ if due is None or _missing(due) or str(due) == "NaT" else f"{text_} (due {when(due)})"


def when(value: Any) -> str:
    """A timestamp as '23 Nov 2026 14:05', a date as '23 Nov 2026'; an em dash when missing."""
    if value is None or _missing(value) or str(value) == "NaT":
        return "—"
    if isinstance(value, datetime):
        return value.strftime("%d %b %Y %H:%M")
    if isinstance(value, date):
        return value.strftime("%d %b %Y")
    return str(value)


def business_date_line(today: date, wall: date) -> str:
    """'Business date 2026-11-01', with the wall clock's date beside it only when the two differ."""
    return f"Business date **{today.isoformat()}**" + ("" if today == wall else f" · wall clock {wall.isoformat()}")


def duration(seconds: Any) -> str:
    """A run's duration: '45 s', '3 min 20 s', '1 h 05 min'."""
    if _missing(seconds):
        return "—"
    s = round(float(seconds))
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min {s % 60:02d} s"
    return f"{s // 3600} h {s % 3600 // 60:02d} min"


def rows_height(n: int, most: int = 400) -> int:
    """Pixel height of a table showing n rows without empty space, scrolling beyond `most`."""
    return min(most, 35 * (max(n, 1) + 1) + 3)


def label(code: Any) -> str:
    """A snake_case code as words: restructuring_offer → Restructuring offer."""
    if _missing(code):
        return "—"
    return ACTION_LABELS.get(str(code), str(code).replace("_", " ").capitalize())


@functools.lru_cache(maxsize=512)
def feature_label(name: str) -> str:
    """The feature's description from the feature registry, or its name in words."""
    try:
        from predelinquency.features.registry import get

        return get(name).description
    except Exception:  # the registry is optional here: a label is never worth an error
        return name.replace("_", " ")


def wrap(text: str, width: int = 34, lines: int = 2) -> str:
    """A chart label broken into at most `lines` lines of about `width` characters (plotly <br> breaks)."""
    parts = textwrap.wrap(str(text), width) or [""]
    if len(parts) > lines:
        parts = [*parts[:lines - 1], textwrap.shorten(" ".join(parts[lines - 1:]), width, placeholder="…")]
    return "<br>".join(parts)


def header(title: str, caption: str | None = None) -> None:
    """The page title and a one-line explanation of what the page is for."""
    st.title(title, anchor=False)
    if caption:
        st.caption(caption)


def empty(message: str, hint: str | None = None) -> None:
    """The friendly message shown instead of a chart or table when there is nothing to show yet."""
    st.info(message + (f"\n\n{hint}" if hint else ""), icon=":material/info:")


def style(fig: go.Figure, title: str, x: str | None = None, y: str | None = None, height: int = 340) -> go.Figure:
    """The house chart layout: title, axis labels, white background, compact margins, legend on top."""
    fig.update_layout(
        title={"text": title, "x": 0, "xanchor": "left", "font": {"size": 15}},
        height=height, margin={"l": 10, "r": 10, "t": 48, "b": 10}, template="plotly_white",
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.0, "xanchor": "right", "x": 1, "title": None},
        font={"family": "Inter, Segoe UI, Helvetica, Arial, sans-serif", "size": 12},
        hoverlabel={"font_size": 12},
    )
    if x is not None:
        fig.update_xaxes(title_text=x)
    if y is not None:
        fig.update_yaxes(title_text=y)
    return fig


def styled(df: pd.DataFrame, colors: dict[str, dict[str, str]]) -> Any:
    """The frame with cells of the given columns in the colour their value maps to (a Styler for st.dataframe).

    A value like "High → Critical" takes the colour of its last part.
    """
    styler = df.style
    for column, palette in colors.items():
        def color(value: Any, palette: dict[str, str] = palette) -> str:
            c = palette.get(str(value).split(" → ")[-1])
            return f"color: {c}; font-weight: 600" if c else ""

        styler = styler.map(color, subset=[column])
    return styler


def tier_badge(tier: str) -> str:
    """Markdown for a tier as a coloured badge."""
    color = {"Low": "green", "Medium": "yellow", "High": "orange", "Critical": "red"}.get(tier, "gray")
    return f":{color}-badge[{tier}]"


def count_axis(fig: go.Figure, largest: Any, axis: str = "y") -> None:
    """Whole-number ticks on a count axis (no 0.2-step ticks when the counts are small)."""
    if not _missing(largest) and float(largest) <= 10:
        (fig.update_yaxes if axis == "y" else fig.update_xaxes)(dtick=1, rangemode="tozero")


def flash(kind: str, message: str) -> None:
    """Keeps a message to show at the top of the page after the next rerun (used after a write)."""
    st.session_state["_flash"] = (kind, message)


def show_flash() -> None:
    """Shows (once) the message kept by flash(): at the top of the page and as a toast wherever one has scrolled."""
    kept = st.session_state.pop("_flash", None)
    if kept:
        kind, message = kept
        icon = ":material/check_circle:" if kind == "success" else ":material/error:"
        (st.success if kind == "success" else st.error)(message, icon=icon)
        st.toast(message, icon=icon)


def widget_key(name: str) -> str:
    """The current key of a resettable widget (a table whose selection must be cleared after a write)."""
    return f"{name}-{st.session_state.get(f'_gen_{name}', 0)}"


def reset_widget(name: str) -> None:
    """Gives the widget a new key, so the browser shows it afresh (a cleared selection stays cleared)."""
    st.session_state[f"_gen_{name}"] = st.session_state.get(f"_gen_{name}", 0) + 1


def user_message(exc: BaseException) -> str:
    """The error in the officer's terms."""
    if isinstance(exc, Conflict) and "changed by someone else" in str(exc):
        return f"Someone else changed this; reload and try again. ({exc})"
    if isinstance(exc, Forbidden):
        return f"Not allowed: {exc}"
    if isinstance(exc, NotFound):
        return f"Not found: {exc}"
    if isinstance(exc, PdeError):
        return str(exc)
    if isinstance(exc, DatabaseUnavailable):
        return f"The database is not reachable right now. {exc}"
    if isinstance(exc, SQLAlchemyError):
        return "The database could not answer this request; please try again in a moment."
    return "Something went wrong while preparing this view; the details were written to the server log."


def guarded(fn: F) -> F:
    """Runs a page or fragment body, showing any failure as a message in the user's terms (never a traceback)."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except Exception as exc:
            if not isinstance(exc, PdeError):
                log.exception("dashboard view %s failed", fn.__name__)
            st.error(user_message(exc), icon=":material/error:")
            return None

    return wrapper  # type: ignore[return-value]
