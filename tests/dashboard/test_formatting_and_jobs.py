"""Pure helpers of the dashboard: number formats, drift metrics read defensively, job command lines."""

from __future__ import annotations

import sys

from dashboard import jobs, ui
from dashboard.queries.monitor import _psi_of


def test_money_percent_and_duration_formats():
    assert ui.money(1234.5) == "€1,234" and ui.money(-1234.5, 2) == "-€1,234.50"
    assert ui.money(368_123) == "€368.1k" and ui.money(2_500_000) == "€2.50M"
    assert ui.money(None) == ui.pct(float("nan")) == ui.duration(None) == "—"
    assert ui.pct(0.1234) == "12.3%" and ui.num(30000) == "30,000"
    assert [ui.duration(s) for s in (42, 200, 3900)] == ["42 s", "3 min 20 s", "1 h 05 min"]
    assert ui.label("restructuring_offer") == "Restructuring offer" and ui.channel("sms") == "SMS"
    assert ui.points(0.032) == "+3.2 pts" and ui.interval(-0.01, 0.05, ui.points) == "[-1.0 pts, +5.0 pts]"
    assert ui.payment_outcome(None) == "Awaiting" and ui.payment_outcome("late") == "Paid late"


def test_drift_metrics_are_read_whatever_their_shape():
    assert _psi_of({"psi": {"score": 0.3, "features": {"a": 0.1, "b": "x", "c": True}}}) == {
        "score": 0.3, "features": {"a": 0.1}}
    assert _psi_of('{"psi": {"score": 1}}') == {"score": 1.0, "features": {}}
    assert _psi_of("not json") == _psi_of({}) == _psi_of(None) == {"score": None, "features": {}}


def test_job_commands_run_the_real_cli_with_this_interpreter():
    assert jobs.command("generate", 300, 150, 1, reset=True) == [
        sys.executable, "-m", "predelinquency.cli", "generate", "--customers", "300", "--days", "150", "--seed", "1",
        "--reset", "--json"]
    assert jobs.command("nightly")[-2:] == ["nightly", "--json"]
    assert set(jobs.JOB_KINDS) == {"generate", "train", "nightly", "advance"}


def test_advance_job_runs_pde_advance_and_needs_the_advance_permission():
    assert jobs.command("advance", days=5, nightly="every", work_plan=True) == [
        sys.executable, "-m", "predelinquency.cli", "advance", "--days", "5", "--nightly", "every", "--work-plan",
        "--json"]
    assert jobs.command("advance", days=1)[3:] == ["advance", "--days", "1", "--nightly", "last", "--json"]
    assert jobs.JOB_KINDS["advance"].permission == "advance_bank"
    # what the page shows when the CLI refused before recording a run: its own one-line message
    log = "Traceback? no\nerror: this bank was not made by `pde generate`; a real bank moves by ingest\n"
    assert jobs.refusal(log) == "this bank was not made by `pde generate`; a real bank moves by ingest"
    assert jobs.refusal("advanced the bank 1 day(s)") is None


def test_business_date_line_names_the_wall_clock_only_when_it_differs():
    from datetime import date

    assert ui.business_date_line(date(2026, 11, 1), date(2026, 11, 1)) == "Business date **2026-11-01**"
    assert ui.business_date_line(date(2026, 11, 1), date(2026, 12, 2)).endswith("· wall clock 2026-12-02")
