"""The model report: every section, for the demo champion, a challenger and a bring-your-own-table model, with
each printed figure traced back to the registry and the database it came from."""

from __future__ import annotations

import io
import math
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from pypdf import PdfReader
from sqlalchemy import Connection, create_engine, text

from predelinquency.model.evaluate import by_group
from predelinquency.model.registry import get_version
from predelinquency.model.tabular import train_file
from predelinquency.report.model import SECTIONS, model_report_html, model_report_pdf
from predelinquency.settings import Settings
from tests.conftest import fast_training
from tests.support.bank import DemoBank
from tests.support.synthetic import make_table

FIGURE = re.compile(r'<span data-figure="([^"]+)" data-value="([^"]*)">([^<]*)</span>')


def _figures(html: str) -> list[tuple[str, str, str]]:
    """(source path, unrounded value, printed text) of every tagged figure."""
    return FIGURE.findall(html)


def _walk(tree: Any, path: list[str]) -> Any:
    for step in path:
        tree = tree[int(step)] if isinstance(tree, list) else tree[step]
    return tree


def _source(conn: Connection, row: dict[str, Any], path: str) -> Any:
    """The value a figure's data-figure names, read afresh from the registry and the database."""
    head, *rest = path.split(".")
    if head in ("metrics", "params"):
        return _walk(row[head], rest)
    if head == "runs":
        metrics = conn.execute(text("SELECT metrics FROM batch_runs WHERE run_id = :r"),
                               {"r": int(rest[0])}).scalar_one()
        assert metrics["model_version"] == row["version"]
        return _walk(metrics, rest[1:])
    if head == "run_performance":
        got = conn.execute(text(f"SELECT {rest[1]} FROM run_performance WHERE as_of = :d AND model_version = :v"),
                           {"d": rest[0], "v": row["version"]}).scalar_one()
        return got
    if head == "champion_at_the_time":
        return None  # checked by the comparison test against the champion's own row
    if head == "db" and rest == ["customers"]:
        first, last = row["params"]["data_span"]
        return conn.execute(text("SELECT count(DISTINCT customer_id) FROM daily_balances "
                                 "WHERE day BETWEEN CAST(:a AS date) AND CAST(:b AS date)"),
                            {"a": first, "b": last}).scalar_one()
    raise AssertionError(f"unknown figure source {path}")


def _check_printed(value: Any, raw: str, printed: str) -> None:
    """The tagged raw value is the source's exactly, and the printed text is it rounded."""
    if value is None:
        assert raw == "" and printed == "–"
    elif isinstance(value, bool):
        assert printed == ("yes" if value else "no")
    elif isinstance(value, int | float):
        assert float(raw) == float(value)
        number = float(printed.replace(",", ""))
        decimals = len(printed.split(".")[1]) if "." in printed else 0
        assert math.isclose(number, value, abs_tol=0.5 * 10 ** -decimals + 1e-12), (value, printed)
    else:
        assert raw == str(value) and printed == str(value)


def _check_figures(conn: Connection, row: dict[str, Any], html: str) -> int:
    """Every tagged figure equals its source; the number of figures checked."""
    checked = 0
    for path, raw, printed in _figures(html):
        if path.startswith(("derived.", "champion_at_the_time.")):
            continue
        _check_printed(_source(conn, row, path), raw, printed)
        checked += 1
    return checked


def _sections(html: str) -> None:
    for anchor, title in SECTIONS.items():
        assert f'<section id="{anchor}"><h2>{title}</h2>' in html


def _derived(html: str, name: str) -> float:
    return float(next(raw for path, raw, _ in _figures(html) if path == f"derived.{name}"))


def test_the_demo_champions_report_holds_every_section_and_the_registrys_figures(
        demo_conn: Connection, demo_module_settings: Settings, demo_bank: DemoBank):
    html = model_report_html(demo_conn, demo_module_settings, demo_bank.model_version)
    row = get_version(demo_conn, demo_bank.model_version)
    m = row["metrics"]
    _sections(html)
    assert _check_figures(demo_conn, row, html) > 200
    tags = {path for path, _, _ in _figures(html)}
    # the headline figures, the confusion matrix, by tier and segment, the learners, the costs behind the threshold
    assert {"metrics.oot_auc", "metrics.oot_pr_auc", "metrics.brier", "metrics.ece", "metrics.threshold",
            "metrics.ceiling_auc", "metrics.curves.confusion.tp", "metrics.curves.confusion.tn",
            "params.costs.missed_default", "params.costs.intervention", "params.split.test.first",
            "metrics.ensemble.test_auc.catboost", "params.weights.catboost", "db.customers"} <= tags
    assert {f"metrics.by_tier.{i}.rows" for i in range(4)} <= tags
    assert sum(g["rows"] for g in m["by_tier"]) == m["test_rows"]
    assert f"metrics.by_segment.{len(m['by_segment']) - 1}.auc" in tags
    for attr, body in m["fairness"]["attributes"].items():
        assert f"metrics.fairness.attributes.{attr}.groups.{len(body['groups']) - 1}.n" in tags
    # figures the report adds up from the registry
    split = row["params"]["split"]
    rows = sum(split[p]["rows"] for p in ("train", "validation", "test"))
    assert _derived(html, "rows_used") == rows
    assert _derived(html, "default_rate") == sum(split[p]["defaults"] for p in ("train", "validation", "test")) / rows
    assert _derived(html, "features_kept") == len(row["feature_names"])
    # stability: one row per nightly run the champion scored (the demo bank has three)
    assert _derived(html, "stability_runs") == len(demo_bank.as_ofs)
    for run_id in demo_conn.execute(text("SELECT run_id FROM batch_runs WHERE kind = 'nightly'")).scalars():
        assert f"runs.{run_id}.psi.score" in tags
    # every kept feature is listed with its registry description, and the registry's others as not kept
    assert html.count("<td>yes</td>") >= len(row["feature_names"])
    assert "weighted share of warning signals" in html  # stress_score's description, from the registry
    assert "first model registered" in html  # the demo champion had no champion before it
    assert "src=\"http" not in html and "<script" not in html and "<link" not in html  # self-contained
    assert html.count("data:image/svg+xml;base64,") >= 5  # ROC, PR, calibration, cost, PSI


def test_the_challengers_report_compares_it_with_the_champion_at_the_time(
        demo_conn: Connection, demo_module_settings: Settings, demo_bank: DemoBank):
    html = model_report_html(demo_conn, demo_module_settings, demo_bank.challenger)
    champion = get_version(demo_conn, demo_bank.model_version)
    _sections(html)
    assert f"the champion was <b>{demo_bank.model_version}</b>" in html
    compared = {path: (raw, printed) for path, raw, printed in _figures(html)
                if path.startswith("champion_at_the_time.")}
    assert compared
    for path, (raw, printed) in compared.items():
        _check_printed(_walk(champion, path.split(".")[1:]), raw, printed)
    assert "No nightly run has scored with this version" in html  # never champion, never scored


def test_a_version_trained_before_fairness_says_so(demo_conn: Connection, demo_module_settings: Settings,
                                                   demo_bank: DemoBank):
    demo_conn.execute(text("UPDATE model_versions SET metrics = metrics - 'fairness' - 'by_tier' - 'by_segment' "
                           "WHERE version = :v"), {"v": demo_bank.model_version})
    html = model_report_html(demo_conn, demo_module_settings, demo_bank.model_version)
    _sections(html)
    assert "No fairness figures were recorded when this version was trained" in html
    assert "did not record the out-of-time figures by tier" in html
    assert "did not record the out-of-time figures by segment" in html


def test_the_pdf_is_a_valid_document_with_every_section(demo_conn: Connection, demo_module_settings: Settings,
                                                        demo_bank: DemoBank):
    pdf = model_report_pdf(model_report_html(demo_conn, demo_module_settings, demo_bank.model_version))
    assert pdf.startswith(b"%PDF-") and pdf.rstrip().endswith(b"%%EOF")
    reader = PdfReader(io.BytesIO(pdf))
    assert len(reader.pages) >= 4
    words = " ".join(page.extract_text() for page in reader.pages)
    for title in SECTIONS.values():
        assert title in words


@pytest.fixture
def table_model(fresh_settings: Settings, tmp_path: Path) -> tuple[Settings, str]:
    """A model trained by `pde train --data` on a bank's own table with its customers' region kept aside for the
    fairness figures (segment renamed: a sensitive attribute is never a feature)."""
    settings = fast_training(fresh_settings)
    X, y, groups = make_table(1500, seed=21)
    region = np.random.default_rng(5).choice(["north", "south", "east"], size=len(y))
    path = tmp_path / "loans.csv"
    X.rename(columns={"segment": "product"}).assign(loan_id=range(1500), as_of=groups, region=region,
                                                    defaulted=y).to_csv(path, index=False)
    engine = create_engine(settings.database_url)
    try:
        version = train_file(settings, engine, path, "defaulted", actor="system:test", id_column="loan_id",
                             time_column="as_of", attributes=["region"])["version"]
    finally:
        engine.dispose()
    return settings, version


def test_a_bring_your_own_table_models_report(table_model: tuple[Settings, str]):
    settings, version = table_model
    engine = create_engine(settings.database_url)
    try:
        with engine.connect() as conn:
            html = model_report_html(conn, settings, version)
            row = get_version(conn, version)
            _sections(html)
            assert _check_figures(conn, row, html) > 60
    finally:
        engine.dispose()
    assert "<code>defaulted</code>" in html and "loans.csv" in html
    for column in row["feature_names"]:  # the table's own columns, not the behavioural registry
        assert f"<td>{column}</td>" in html
    assert "stress_score" not in html
    assert "metrics.fairness.attributes.region.groups.2.adverse_impact_ratio" in {p for p, _, _ in _figures(html)}
    assert "No ground truth is known" in html  # no generator: no ceiling
    assert "first model registered" in html
    assert model_report_pdf(html).startswith(b"%PDF-")


def test_figures_by_group_on_a_hand_built_case():
    y = [1, 0, 0, 1, 0, 0]
    pd_ = [0.9, 0.2, 0.6, 0.1, 0.3, 0.05]
    rows = {r["group"]: r for r in by_group(y, pd_, ["a", "a", "a", "b", "b", "c"], 0.5, order=["a", "b", "c", "d"])}
    assert rows["a"] == {"group": "a", "rows": 3, "defaults": 1, "default_rate": round(1 / 3, 6),
                         "mean_pd": round(1.7 / 3, 6), "auc": 1.0, "flagged_share": round(2 / 3, 6),
                         "precision_at_threshold": 0.5, "recall_at_threshold": 1.0, "share_of_defaults": 0.5}
    assert rows["b"]["auc"] == 0.0 and rows["b"]["flagged_share"] == 0.0 and rows["b"]["recall_at_threshold"] == 0.0
    assert rows["c"]["auc"] is None  # one class: no AUC (None, not NaN: NaN never equals itself once stored)
    assert rows["d"]["rows"] == 0 and rows["d"]["mean_pd"] is None
