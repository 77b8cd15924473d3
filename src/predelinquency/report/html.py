"""A printable, self-contained HTML page: embedded CSS, tables from frames or dicts, matplotlib charts as inline SVG.

Nothing is fetched: no fonts, scripts or stylesheets from the network, every chart a `data:` URI, so the file
opens on a bank's closed network and converts to PDF (`pdf`) unchanged. Figures shown in tables can carry
`data-figure` (where the number comes from) and `data-value` (the number unrounded): a reader, or a test,
can check the printed figure against its source.
"""

from __future__ import annotations

import base64
import io
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import date, datetime
from html import escape
from typing import Any

import matplotlib
import pandas as pd
import polars as pl
from matplotlib.figure import Figure

from predelinquency.errors import PdeError

CSS = """
@page { size: a4; margin: 1.6cm 1.5cm 1.6cm 1.5cm; }
body { font-family: Helvetica, Arial, sans-serif; font-size: 9.5pt; color: #1d2430; line-height: 1.35; }
h1 { font-size: 18pt; margin: 0 0 2pt 0; color: #0b2545; }
h2 { font-size: 13pt; margin: 16pt 0 4pt 0; padding-bottom: 2pt; border-bottom: 1.5pt solid #0b2545;
     color: #0b2545; page-break-after: avoid; }
h3 { font-size: 10.5pt; margin: 10pt 0 3pt 0; color: #13315c; page-break-after: avoid; }
p { margin: 3pt 0 5pt 0; }
.subtitle { color: #5a6473; margin-bottom: 8pt; }
.note { color: #5a6473; font-size: 8.5pt; }
.alert { color: #9b1c1c; font-weight: bold; }
.ok { color: #1f6f43; }
table { border-collapse: collapse; margin: 3pt 0 8pt 0; width: 100%; }
th, td { border: 0.5pt solid #c9ced6; padding: 2pt 4pt; text-align: left; vertical-align: top; font-size: 8.5pt; }
th { background-color: #e8ecf2; font-weight: bold; }
td.num, th.num { text-align: right; }
table.kv th { background-color: #f3f5f8; font-weight: normal; }
table.charts, table.charts td { border: none; padding: 0; }
img.chart { width: 8.4cm; }
img.wide { width: 17cm; }
section { page-break-inside: auto; }
@media screen { body { max-width: 19cm; margin: 1.5em auto; } }
"""

Row = Mapping[str, Any]
Source = Callable[[int, dict[str, Any], str], str | None]


def fmt(value: Any, digits: int = 4) -> str:
    """A value as printed in a report: floats to `digits` decimals, thousands separated, None as an en dash."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    if isinstance(value, datetime):
        return f"{value:%Y-%m-%d %H:%M} UTC" if value.tzinfo else f"{value:%Y-%m-%d %H:%M}"
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def figure(value: Any, source: str | None = None, digits: int = 4) -> str:
    """A printed figure as HTML; with `source`, tagged so it can be traced back (data-figure, data-value)."""
    text = escape(fmt(value, digits))
    if source is None:
        return text
    raw = "" if value is None else repr(value) if isinstance(value, float) else str(value)
    return f'<span data-figure="{escape(source)}" data-value="{escape(raw)}">{text}</span>'


def esc(value: Any) -> str:
    """Plain text, escaped for HTML."""
    return escape(str(value))


def paragraph(text: str, css: str | None = None) -> str:
    """A paragraph of already-escaped HTML."""
    return f'<p class="{css}">{text}</p>' if css else f"<p>{text}</p>"


def section(anchor: str, title: str, *parts: str) -> str:
    """A numbered-by-order report section with an id readers (and tests) can find."""
    return f'<section id="{escape(anchor)}"><h2>{escape(title)}</h2>\n' + "\n".join(parts) + "\n</section>"


def key_values(items: Iterable[tuple[str, str]]) -> str:
    """A two-column table of (label, already-rendered HTML value)."""
    rows = "".join(f'<tr><th width="30%">{escape(label)}</th><td>{value}</td></tr>' for label, value in items)
    return f'<table class="kv">{rows}</table>'


def _records(data: pd.DataFrame | pl.DataFrame | Sequence[Row]) -> list[dict[str, Any]]:
    if isinstance(data, pl.DataFrame):
        return data.to_dicts()
    if isinstance(data, pd.DataFrame):
        return [{str(k): (None if pd.isna(v) else v) for k, v in r.items()} for r in data.to_dict("records")]
    return [dict(r) for r in data]


def _heading(text: str, width: str | None, numeric: bool) -> str:
    attrs = (f' width="{escape(width)}"' if width else "") + (' class="num"' if numeric else "")
    return f"<th{attrs}>{escape(text)}</th>"


def table(data: pd.DataFrame | pl.DataFrame | Sequence[Row], columns: Mapping[str, str] | None = None, *,
          digits: Mapping[str, int] | None = None, source: str | Source | None = None,
          widths: Mapping[str, str] | None = None, empty: str = "No rows.") -> str:
    """A table of rows (a pandas or polars frame, or dicts); columns maps keys to headings (default: all keys).

    With `source` each number cell is tagged with where it came from: `"{source}.{row position}.{column}"` for a
    string (rows that are a list in the source), or whatever `source(position, row, column)` returns (None: untagged).
    widths: {column: "20%"}; the PDF converter splits the page evenly among columns without them.
    """
    rows = _records(data)
    if not rows:
        return paragraph(escape(empty), "note")
    cols = dict(columns) if columns else {k: k for k in rows[0]}
    digits = digits or {}
    numeric = {c for c in cols if all(isinstance(r.get(c), int | float) or r.get(c) is None for r in rows)
               and any(isinstance(r.get(c), int | float) and not isinstance(r.get(c), bool) for r in rows)}
    widths = widths or {}
    head = "".join(_heading(h, widths.get(c), c in numeric) for c, h in cols.items())
    body = []
    for i, r in enumerate(rows):
        cells = []
        for c in cols:
            v = r.get(c)
            tag = None
            if c in numeric and source is not None:
                tag = source(i, r, c) if callable(source) else f"{source}.{i}.{c}"
            cell = figure(v, tag, digits.get(c, 4))
            cells.append(f'<td class="num">{cell}</td>' if c in numeric else f"<td>{cell}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def new_figure(width: float = 4.2, height: float = 3.0) -> tuple[Figure, Any]:
    """A matplotlib figure and its axes in the report's style (no pyplot: safe in threads, no display needed)."""
    fig = Figure(figsize=(width, height), layout="constrained")
    ax = fig.add_subplot()
    ax.grid(True, color="#e3e7ed", linewidth=0.6)
    ax.set_axisbelow(True)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.tick_params(labelsize=8)
    return fig, ax


def chart(fig: Figure, alt: str, wide: bool = False) -> str:
    """The figure as an <img> holding its SVG as a data URI (crisp in print; xhtml2pdf reads it too); wide: the
    page's width, else half of it."""
    buf = io.BytesIO()
    # no timestamp and fixed element ids: the same report gives the same bytes
    with matplotlib.rc_context({"svg.hashsalt": "pde-report"}):
        fig.savefig(buf, format="svg", metadata={"Date": None})
    data = base64.b64encode(buf.getvalue()).decode("ascii")
    css = "wide" if wide else "chart"
    return f'<img class="{css}" alt="{escape(alt)}" src="data:image/svg+xml;base64,{data}"/>'


def chart_row(*charts: str) -> str:
    """Charts side by side (a table: the PDF converter knows no flexbox)."""
    return '<table class="charts"><tr>' + "".join(f"<td>{c}</td>" for c in charts) + "</tr></table>"


def page(title: str, subtitle: str, body: str) -> str:
    """The whole self-contained document."""
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"/>"
            f"<title>{escape(title)}</title><style>{CSS}</style></head><body>\n"
            f"<h1>{escape(title)}</h1><p class=\"subtitle\">{escape(subtitle)}</p>\n{body}\n</body></html>\n")


def pdf(html: str) -> bytes:
    """The page as PDF bytes (xhtml2pdf: pure Python on reportlab, no system libraries); PdeError if it fails."""
    from xhtml2pdf import pisa  # imported here: only PDF exports pay for loading reportlab

    out = io.BytesIO()
    status = pisa.CreatePDF(html, dest=out, encoding="utf-8")
    if status.err:
        raise PdeError(f"the report could not be converted to PDF ({status.err} error(s))")
    return out.getvalue()
