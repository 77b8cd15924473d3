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
    assert set(jobs.JOB_KINDS) == {"generate", "train", "nightly"}
