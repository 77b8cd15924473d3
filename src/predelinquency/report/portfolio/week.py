"""The week's portfolio gathered from the database: its summary and one table per section."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import pandas as pd
from sqlalchemy import Connection, text

from predelinquency.db.calendar import business_date
from predelinquency.domain.vocabulary import TIERS
from predelinquency.loop.effects import measure_effects
from predelinquency.report import xlsx
from predelinquency.report.portfolio.actions import effects_table, interventions_table
from predelinquency.report.portfolio.alerts import drift_table, fairness_alerts, week_runs
from predelinquency.report.portfolio.columns import FORMATS, MEANINGS
from predelinquency.report.portfolio.render import render_html
from predelinquency.report.portfolio.tiers import (
    RISING_LIMIT,
    Run,
    movement_table,
    rising_table,
    scoring_on_or_before,
    tiers_table,
)
from predelinquency.settings import Settings

WEEK_DAYS = 7


@dataclass
class PortfolioReport:
    """The week's portfolio: a summary and one table per section, with display column names."""

    start: date
    end: date
    business_date: date
    start_run: Run | None
    end_run: Run | None
    summary: pd.DataFrame
    tiers: pd.DataFrame
    movement: pd.DataFrame
    rising: pd.DataFrame
    interventions: pd.DataFrame
    effects: pd.DataFrame
    drift: pd.DataFrame
    fairness: pd.DataFrame
    effects_raw: dict[str, Any] = field(default_factory=dict)  # measure_effects: {"to_date": ..., "week": ...}

    def sheets(self) -> list[tuple[str, pd.DataFrame]]:
        """The sections in reading order, as (title, table)."""
        return [("Summary", self.summary), ("Tiers", self.tiers), ("Tier movement", self.movement),
                ("Rising risk", self.rising), ("Interventions", self.interventions),
                ("Measured effect", self.effects), ("Drift", self.drift), ("Fairness alerts", self.fairness)]

    def title(self) -> str:
        return f"Portfolio report, week {self.start.isoformat()} to {self.end.isoformat()}"

    def html(self) -> str:
        """A self-contained, printable HTML page."""
        return render_html(self)

    def xlsx(self) -> bytes:
        """An Excel workbook: one sheet per section, then the column meanings."""
        return xlsx.workbook(self.sheets(), MEANINGS, FORMATS)


def portfolio_report(conn: Connection, settings: Settings, week: date | None = None) -> PortfolioReport:
    """The portfolio over the seven days ending on `week` (default: the business date)."""
    today = business_date(conn)
    end = week or today
    start = end - timedelta(days=WEEK_DAYS - 1)
    champion = conn.execute(text("SELECT version FROM model_versions WHERE status = 'champion'")).scalar()
    end_run = scoring_on_or_before(conn, end, champion)
    start_run = scoring_on_or_before(conn, start - timedelta(days=1), end_run.model_version if end_run else None)
    tiers = tiers_table(conn, start_run, end_run)
    movement = movement_table(conn, start_run, end_run)
    rank = {t: i for i, t in enumerate(TIERS)}
    riskier = int(movement.loc[movement["From tier"].map(rank).lt(movement["To tier"].map(rank)), "Customers"].sum())
    safer = int(movement.loc[movement["From tier"].map(rank).gt(movement["To tier"].map(rank)), "Customers"].sum())
    measured = {"to_date": measure_effects(conn, settings, until=end),
                "week": measure_effects(conn, settings, since=start, until=end)}
    runs = week_runs(conn, start, end)
    drift, fairness = drift_table(runs), fairness_alerts(conn, runs, start, end)
    interventions = interventions_table(conn, start, end)
    plan = conn.execute(text("""
        SELECT count(*) FILTER (WHERE arm = 'contact') AS contact, count(*) FILTER (WHERE arm = 'holdout') AS holdout
        FROM contact_plan WHERE business_date BETWEEN :s AND :e"""), {"s": start, "e": end}).one()
    overall = measured["to_date"]["overall"]
    high = tiers.set_index("Tier")
    figures = {
        "Week from": start, "Week to": end, "Business date": today,
        "Scoring before the week": start_run.as_of if start_run else None,
        "Week's last scoring": end_run.as_of if end_run else None,
        "Model": end_run.model_version if end_run else None,
        "Customers scored at end": int(tiers["Customers at end"].fillna(0).sum()) if end_run else None,
        "High or Critical at start": int(high.loc[["High", "Critical"], "Customers at start"].fillna(0).sum())
        if start_run else None,
        "High or Critical at end": int(high.loc[["High", "Critical"], "Customers at end"].fillna(0).sum())
        if end_run else None,
        "Moved to a riskier tier": riskier, "Moved to a safer tier": safer,
        "Interventions made": int(interventions["Made"].sum()),
        "Planned for contact": int(plan.contact), "Held out at random": int(plan.holdout),
        "Measured uplift to date": _points(overall["uplift"]) if overall["enough_data"] else "not enough data yet",
        "Nightly runs with drift figures": len(drift),
        "Runs with a score PSI in the retrain band": int((drift["Score band"] == "retrain").sum()),
        "Fairness alerts": len(fairness) if len(fairness) else "none recorded",
    }
    summary = pd.DataFrame(list(figures.items()), columns=["Figure", "Value"])
    return PortfolioReport(
        start=start, end=end, business_date=today, start_run=start_run, end_run=end_run, summary=summary,
        tiers=tiers, movement=movement, rising=rising_table(conn, start_run, end_run, RISING_LIMIT),
        interventions=interventions, effects=effects_table(measured, start, end), drift=drift, fairness=fairness,
        effects_raw=measured)


def _points(rate_difference: float | None) -> str:
    return "–" if rate_difference is None else f"{rate_difference * 100:+.2f} points"
