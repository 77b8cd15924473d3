"""The week's portfolio for managers: tiers and their movement, rising risk, interventions and their measured
effect, drift and fairness alerts; as a printable HTML page or an Excel workbook, every figure from the database.

The week is the seven business days ending on the day asked (default: the business date). Its tiers compare the
newest scoring on or before its last day with the newest scoring before its first day (the champion's when it
scored that day, as the Risk Overview shows), so "movement" is what changed over the week.

Modules: `week` (the report and its summary), `tiers`, `actions` and `alerts` (the sections' tables, from the
database), `columns` (meanings and formats), `render` (the HTML page; the workbook is report/xlsx.py).
"""

from predelinquency.report.portfolio.columns import FORMATS, MEANINGS
from predelinquency.report.portfolio.render import render_html
from predelinquency.report.portfolio.tiers import RISING_LIMIT, Run, scoring_on_or_before
from predelinquency.report.portfolio.week import WEEK_DAYS, PortfolioReport, portfolio_report

__all__ = ["FORMATS", "MEANINGS", "RISING_LIMIT", "WEEK_DAYS", "PortfolioReport", "Run", "portfolio_report",
           "render_html", "scoring_on_or_before"]
