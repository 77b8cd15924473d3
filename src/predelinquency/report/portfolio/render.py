"""The week's portfolio as a printable HTML page: a tier chart and one tagged table per section."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pandas as pd

from predelinquency.domain.vocabulary import TIERS
from predelinquency.report import html as page
from predelinquency.report.portfolio.columns import FORMATS
from predelinquency.report.portfolio.tiers import RISING_LIMIT

if TYPE_CHECKING:  # the report renders itself through this module: a runtime import would be a cycle
    from predelinquency.report.portfolio.week import PortfolioReport


# decimals printed per column in the HTML (PDs and rates as probabilities, money in cents)
_DIGITS = {c: 2 for c, kind in FORMATS.items() if kind == "money"} | {"Prevented defaults": 1, "ROI": 2}


def _tier_chart(tiers: pd.DataFrame) -> str:
    """Customers per tier at the start and the end of the week, side by side."""
    fig, ax = page.new_figure(5.2, 2.6)
    order = list(TIERS)
    t = tiers.set_index("Tier").reindex(order)
    x = range(len(order))
    ax.bar([i - 0.2 for i in x], t["Customers at start"].fillna(0).astype(float), width=0.4, label="start",
           color="#9fb3c8")
    ax.bar([i + 0.2 for i in x], t["Customers at end"].fillna(0).astype(float), width=0.4, label="end",
           color="#0b2545")
    ax.set_xticks(list(x), order)
    ax.set_ylabel("customers", fontsize=8)
    ax.legend(fontsize=8, frameon=False)
    return page.chart(fig, "Customers per tier at the start and the end of the week")


def render_html(r: PortfolioReport) -> str:
    """The report as one self-contained, printable HTML page (report/html.py)."""
    def table(name: str, frame: pd.DataFrame, empty: str, key: str | None = None) -> str:
        # each figure tagged "{table}.{row's key, else position}.{column}": traceable to the row it came from
        def source(i: int, row: dict[str, Any], column: str) -> str:
            return f"{name}.{row[key] if key else i}.{column}"
        return page.table(frame, digits=_DIGITS, source=source, empty=empty)

    summary = page.key_values((str(f), page.figure(v)) for f, v in r.summary.itertuples(index=False))
    runs = (f"Tiers compare the scoring of {page.fmt(r.start_run.as_of if r.start_run else None)} "
            f"({page.fmt(r.start_run.model_version if r.start_run else None)}) with that of "
            f"{page.fmt(r.end_run.as_of if r.end_run else None)} "
            f"({page.fmt(r.end_run.model_version if r.end_run else None)}).")
    fair_limits = "none recorded" if r.fairness.empty else f"{len(r.fairness)} alert(s)"
    body = [
        page.section("summary", "Summary", summary),
        page.section("tiers", "Tiers and their movement", page.paragraph(page.esc(runs), "note"),
                     _tier_chart(r.tiers) if r.end_run else "",
                     table("tiers", r.tiers if r.end_run else r.tiers.iloc[:0],
                           "No scoring on or before the week's end.", key="Tier"),
                     "<h3>Movement between tiers</h3>",
                     table("movement", r.movement, "No scoring before the week to compare with.")),
        page.section("rising", f"Rising-risk customers (the {RISING_LIMIT} largest PD rises)",
                     table("rising", r.rising, "No customer's PD rose over the week.", key="Customer")),
        page.section("interventions", "Interventions and their measured effect",
                     table("interventions", r.interventions, "No intervention made in the week.", key="Action"),
                     page.paragraph(page.esc(r.effects_raw.get("to_date", {}).get(
                         "method", "intention to treat")), "note"),
                     table("effects", r.effects, "Nothing measured yet.")),
        page.section("drift", "Drift (PSI of the week's runs)",
                     table("drift", r.drift, "None recorded: no nightly run with drift figures in the week.",
                           key="Run")),
        page.section("fairness", "Fairness alerts",
                     page.paragraph(page.esc(f"Fairness alerts: {fair_limits}."),
                                    "alert" if len(r.fairness) else "ok"),
                     table("fairness", r.fairness, "") if len(r.fairness) else ""),
    ]
    subtitle = (f"Business date {r.business_date.isoformat()}; every figure read from the database "
                "(risk_scores, interventions, contact_plan, batch_runs, run_performance).")
    return page.page(r.title(), subtitle, "\n".join(body))
