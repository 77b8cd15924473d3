"""`pde report model`, `pde report portfolio` and `pde monitor` write what the library functions return."""

from __future__ import annotations

import json
from pathlib import Path

from openpyxl import load_workbook
from pypdf import PdfReader

from predelinquency.cli import app
from predelinquency.errors import PdeError
from tests.support.bank import DemoBank


def test_model_report_html_and_pdf(demo_cli, demo_bank: DemoBank, tmp_path: Path):
    out = tmp_path / "report.html"
    res = demo_cli.invoke(app, ["report", "model", demo_bank.model_version, "--out", str(out), "--pdf"])
    assert res.exit_code == 0, res.output
    html = out.read_text(encoding="utf-8")
    assert demo_bank.model_version in html and ("<svg" in html or "data:image" in html)
    assert len(PdfReader(str(out.with_suffix(".pdf"))).pages) >= 2


def test_report_arguments_are_checked_before_any_work(demo_cli, demo_bank: DemoBank, tmp_path: Path):
    res = demo_cli.invoke(app, ["report", "model", demo_bank.model_version, "--out", str(tmp_path / "r.docx")])
    assert isinstance(res.exception, PdeError) and "--out must end in .html" in str(res.exception)
    res = demo_cli.invoke(app, ["report", "portfolio", "--out", str(tmp_path / "nowhere" / "p.xlsx")])
    assert isinstance(res.exception, PdeError) and "does not exist" in str(res.exception)
    res = demo_cli.invoke(app, ["report", "portfolio", "--out", str(tmp_path / "p.xlsx"), "--week", "last"])
    assert isinstance(res.exception, PdeError) and "--week must be a date" in str(res.exception)
    res = demo_cli.invoke(app, ["report", "model", "v-none", "--out", str(tmp_path / "r.html")])
    assert isinstance(res.exception, PdeError) and "v-none does not exist" in str(res.exception)


def test_portfolio_report_both_formats(demo_cli, tmp_path: Path):
    for name in ("week.html", "week.xlsx"):
        res = demo_cli.invoke(app, ["report", "portfolio", "--out", str(tmp_path / name)])
        assert res.exit_code == 0, res.output
    assert "Column meanings" in load_workbook(tmp_path / "week.xlsx").sheetnames
    assert "<html" in (tmp_path / "week.html").read_text(encoding="utf-8").lower()


def test_monitor_and_model_list_json(demo_cli, demo_bank: DemoBank):
    res = demo_cli.invoke(app, ["monitor", "--json"])
    assert res.exit_code == 0, res.output
    report = json.loads(res.output)
    assert {r["as_of"] for r in report["runs"]} >= {str(d) for d in demo_bank.as_ofs[-1:]}
    assert all(r.get("expected_auc") is not None for r in report["runs"] if r["as_of"] == str(demo_bank.as_of))
    assert isinstance(report["alerts"], list)
    res = demo_cli.invoke(app, ["monitor"])
    assert res.exit_code == 0 and "expected AUC" in res.output
    models = json.loads(demo_cli.invoke(app, ["model", "list", "--json"]).output)["models"]
    assert all("fairness_alerts" in m for m in models)
