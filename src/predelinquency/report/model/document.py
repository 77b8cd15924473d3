"""The model report as one document: its sections in order, as HTML or PDF."""

from __future__ import annotations

from sqlalchemy import Connection

from predelinquency.model.registry import get_version
from predelinquency.report import html as H
from predelinquency.report.model.about import data_section, features_section, method_section, purpose_section
from predelinquency.report.model.comparison import comparison_section, limitations_section
from predelinquency.report.model.fairness import fairness_section
from predelinquency.report.model.history import champion_at, champion_periods, champion_runs, performance_runs
from predelinquency.report.model.performance import performance_section
from predelinquency.report.model.stability import stability_section
from predelinquency.settings import Settings


def model_report_html(conn: Connection, settings: Settings, version: str) -> str:
    """The model report of the version as one self-contained, printable HTML document."""
    row = get_version(conn, version)
    periods = champion_periods(conn, row)
    runs = champion_runs(conn, row["version"], periods)
    perf = performance_runs(conn, row["version"], periods)
    other = champion_at(conn, row)
    body = "\n".join([
        purpose_section(row, settings, periods), data_section(conn, row), features_section(row, settings),
        method_section(row), performance_section(row), stability_section(row, runs, perf, settings),
        fairness_section(row, settings), comparison_section(row, other), limitations_section(row),
    ])
    return H.page(f"Model report · {row['version']}",
                  f"{row['kind']} PD model · {row['status']} · registered {H.fmt(row['created_at'])}", body)


def model_report_pdf(html: str) -> bytes:
    """The model report as PDF bytes."""
    return H.pdf(html)
