"""The weekly portfolio report on the demo bank advanced ADVANCE_DAYS business days (the team working each day's
plan; a copy of the session's advanced bank): every section present in the HTML and the workbook, with figures
equal to the database's own rows."""

from __future__ import annotations

import io
import json
import math
from collections.abc import Iterator
from datetime import date, timedelta
from html.parser import HTMLParser

import openpyxl
import pandas as pd
import pytest
from sqlalchemy import Connection, Engine, create_engine, text

from predelinquency.loop.effects import measure_effects
from predelinquency.model.psi import psi_band
from predelinquency.report.portfolio import MEANINGS, RISING_LIMIT, portfolio_report
from predelinquency.report.xlsx import MEANINGS_SHEET
from predelinquency.settings import Settings
from tests.conftest import fast_training
from tests.support.bank import AdvancedBank
from tests.support.db import cloned_database, rolled_back

SECTIONS = ("summary", "tiers", "rising", "interventions", "drift", "fairness")
SHEETS = ["Summary", "Tiers", "Tier movement", "Rising risk", "Interventions", "Measured effect", "Drift",
          "Fairness alerts", MEANINGS_SHEET]


@pytest.fixture(scope="module")
def advanced(pg_server_url: str, advanced_bank: AdvancedBank) -> Iterator[tuple[Engine, Settings]]:
    with cloned_database(pg_server_url, advanced_bank.template) as url:
        settings = fast_training(Settings(data_dir=advanced_bank.data_dir, database_url=url))
        settings.operations = settings.operations.model_copy(update={"holdout_share": advanced_bank.holdout_share})
        engine = create_engine(url)
        yield engine, settings
        engine.dispose()


@pytest.fixture
def conn(advanced) -> Iterator[Connection]:
    with rolled_back(advanced[0]) as c:
        yield c


def _frame(conn: Connection, sql: str, **params) -> pd.DataFrame:
    result = conn.execute(text(sql), params)
    return pd.DataFrame(result.fetchall(), columns=list(result.keys()))


def _scores(conn: Connection, run) -> pd.DataFrame:
    return _frame(conn, "SELECT customer_id, tier, pd, expected_loss FROM risk_scores "
                        "WHERE as_of = :d AND model_version = :v", d=run.as_of, v=run.model_version
                  ).set_index("customer_id")


def _same(a, b) -> bool:
    if a is None or (isinstance(a, float) and math.isnan(a)) or a is pd.NA:
        return b is None or (isinstance(b, float) and math.isnan(b)) or b is pd.NA
    if isinstance(a, float) or isinstance(b, float):
        return b is not None and math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=1e-12)
    return a == b


def test_the_week_is_seven_days_ending_on_the_business_date_with_a_scoring_either_side(conn, advanced):
    r = portfolio_report(conn, advanced[1], None)
    today = conn.execute(text("SELECT pde_business_date()")).scalar_one()
    assert (r.start, r.end, r.business_date) == (today - timedelta(days=6), today, today)
    champion = conn.execute(text("SELECT version FROM model_versions WHERE status = 'champion'")).scalar_one()
    assert r.end_run.as_of == today and r.end_run.model_version == champion
    assert r.start_run.as_of == r.start - timedelta(days=1) and r.start_run.model_version == champion


def test_tiers_movement_and_rising_risk_equal_the_scores(conn, advanced):
    r = portfolio_report(conn, advanced[1], None)
    s, e = _scores(conn, r.start_run), _scores(conn, r.end_run)
    tiers = r.tiers.set_index("Tier")
    for tier in ("Low", "Medium", "High", "Critical"):
        for frame, when in ((s, "start"), (e, "end")):
            part = frame[frame["tier"] == tier]
            assert tiers.at[tier, f"Customers at {when}"] == len(part)
            assert _same(tiers.at[tier, f"Average PD at {when}"], part["pd"].mean() if len(part) else None)
            assert _same(tiers.at[tier, f"Expected loss at {when}"],
                         part["expected_loss"].sum() if len(part) else None)
        assert tiers.at[tier, "Change"] == (e["tier"] == tier).sum() - (s["tier"] == tier).sum()
    both = s.join(e, how="outer", lsuffix="_s", rsuffix="_e")
    pairs = both[["tier_s", "tier_e"]].fillna("(not scored)").value_counts()
    moved = r.movement.set_index(["From tier", "To tier"])["Customers"]
    assert moved.to_dict() == pairs.to_dict()
    assert moved.sum() == len(both) and (pairs.index.get_level_values(0) != pairs.index.get_level_values(1)).any()
    rise = (both["pd_e"] - both["pd_s"]).dropna()
    top = rise[rise > 0].sort_values(ascending=False).head(RISING_LIMIT)
    assert r.rising["Customer"].tolist() == top.index.tolist() and len(r.rising) == RISING_LIMIT
    assert all(_same(a, b) for a, b in zip(r.rising["PD rise"], top, strict=True))
    assert r.rising["Tier at end"].tolist() == e.loc[top.index, "tier"].tolist()


def test_interventions_and_the_measured_effect_equal_the_database(conn, advanced):
    settings = advanced[1]
    r = portfolio_report(conn, settings, None)
    made = _frame(conn, """
        SELECT i.intervention_type, i.status, i.payment_outcome, i.settled_on, o.outcome_id,
               p.arm = 'contact' AS in_plan
        FROM interventions i LEFT JOIN intervention_outcomes o USING (intervention_id)
        LEFT JOIN contact_plan p ON p.customer_id = i.customer_id AND p.business_date = i.business_date
        WHERE i.business_date BETWEEN :s AND :e""", s=r.start, e=r.end)
    assert len(made) > 0, "the simulated team works every day's plan"
    live = made[made["status"] != "cancelled"]
    got = r.interventions.set_index("Action")
    for action, rows in live.groupby("intervention_type"):
        assert got.at[action, "Made"] == len(rows)
        assert got.at[action, "In the plan"] == rows["in_plan"].fillna(False).sum()
        assert got.at[action, "Results recorded"] == rows["outcome_id"].notna().sum()
        assert got.at[action, "Settled"] == rows["settled_on"].notna().sum()
        assert got.at[action, "Missed"] == (rows["payment_outcome"] == "missed").sum()
    assert got["Made"].sum() == len(live)
    summary = dict(r.summary.itertuples(index=False))
    assert summary["Interventions made"] == len(live)

    to_date = measure_effects(conn, settings, until=r.end)
    week = measure_effects(conn, settings, since=r.start, until=r.end)
    assert to_date["overall"]["contacted"] > 0 and to_date["overall"]["holdout"] > 0
    eff = r.effects
    first = eff.iloc[0]
    assert first["Action"] == "all actions" and first["Contacted (settled)"] == to_date["overall"]["contacted"]
    assert _same(first["Uplift"], to_date["overall"]["uplift"])
    assert _same(first["Uplift 95% low"], to_date["overall"]["ci_low"])
    assert _same(first["True uplift (synthetic)"], to_date["overall"]["true_uplift"])
    per_action = eff.iloc[1:-1].set_index("Action")
    for a in to_date["by_action"]:
        assert per_action.at[a["action"], "Held out (settled)"] == a["holdout"]
        assert _same(per_action.at[a["action"], "Prevented loss"], a["prevented_loss"])
    last = eff.iloc[-1]
    assert last["Scope"].startswith("planned") and last["Contacted (settled)"] == week["overall"]["contacted"]


def test_drift_is_the_psi_of_the_weeks_runs_with_its_bands(conn, advanced):
    r = portfolio_report(conn, advanced[1], None)
    runs = _frame(conn, """SELECT run_id, kind, metrics FROM batch_runs WHERE status = 'succeeded'
                           AND kind IN ('nightly', 'advance') AND metrics ? 'psi'
                           AND (metrics ->> 'as_of')::date BETWEEN :s AND :e""", s=r.start, e=r.end)
    assert len(runs) >= 1 and sorted(r.drift["Run"]) == sorted(runs["run_id"])
    for row in runs.itertuples():
        psi = row.metrics["psi"]
        got = r.drift.set_index("Run").loc[row.run_id]
        assert _same(got["Score PSI"], psi["score"]) and got["Score band"] == psi_band(psi["score"])
        bands = [psi_band(v) for v in psi["features"].values()]
        assert (got["Features stable"], got["Features watch"], got["Features retrain"]) == (
            bands.count("stable"), bands.count("watch"), bands.count("retrain"))
        assert _same(got["Worst feature PSI"], max(psi["features"].values()))
        assert got["Behavioural features to retrain on"] == len(psi["retrain"])


def test_fairness_alerts_none_recorded_then_those_of_the_runs(conn, advanced):
    r = portfolio_report(conn, advanced[1], None)
    has_perf = conn.execute(text("SELECT to_regclass('run_performance') IS NOT NULL")).scalar_one()
    if not has_perf and not any("fairness" in m for m in _frame(conn, "SELECT metrics FROM batch_runs")["metrics"]):
        assert r.fairness.empty and dict(r.summary.itertuples(index=False))["Fairness alerts"] == "none recorded"
        assert "Fairness alerts: none recorded." in r.html()
    alert = {"attribute": "age_band", "group": "18-24", "metric": "adverse_impact_ratio", "value": 0.71, "limit": 0.8}
    metrics = {"as_of": r.end.isoformat(), "model_version": r.end_run.model_version,
               "fairness": {"population": "scored", "alerts": [alert]}}
    conn.execute(text("INSERT INTO batch_runs (kind, status, triggered_by, metrics) "
                      "VALUES ('nightly', 'succeeded', 'system:test', CAST(:m AS jsonb))"), {"m": json.dumps(metrics)})
    got = portfolio_report(conn, advanced[1], None).fairness
    mine = got[(got["Attribute"] == "age_band") & (got["Group"] == "18-24") & (got["Value"] == 0.71)]
    assert len(mine) == 1
    assert mine.iloc[0][["Scored on", "Metric", "Limit"]].tolist() == [r.end, "adverse_impact_ratio", 0.8]


class _Sections(HTMLParser):
    """Section ids and every traced figure (data-figure → data-value) of a report page."""

    def __init__(self) -> None:
        super().__init__()
        self.ids: list[str] = []
        self.figures: dict[str, str] = {}

    def handle_starttag(self, tag, attrs) -> None:
        a = dict(attrs)
        if tag == "section":
            self.ids.append(a["id"])
        if "data-figure" in a:
            self.figures[a["data-figure"]] = a["data-value"]


def test_the_html_has_every_section_with_the_reports_figures(conn, advanced):
    r = portfolio_report(conn, advanced[1], None)
    page = r.html()
    parsed = _Sections()
    parsed.feed(page)
    assert parsed.ids == list(SECTIONS)
    assert "http://" not in page and "https://" not in page  # self-contained
    for tier in ("Low", "Critical"):
        assert parsed.figures[f"tiers.{tier}.Customers at end"] == str(
            r.tiers.set_index("Tier").at[tier, "Customers at end"])
    first = r.rising.iloc[0]
    assert float(parsed.figures[f"rising.{first['Customer']}.PD rise"]) == first["PD rise"]
    action = r.interventions.iloc[0]
    assert parsed.figures[f"interventions.{action['Action']}.Made"] == str(action["Made"])
    run = r.drift.iloc[0]
    assert float(parsed.figures[f"drift.{run['Run']}.Score PSI"]) == run["Score PSI"]


def test_the_workbook_holds_every_section_and_names_every_column(conn, advanced):
    r = portfolio_report(conn, advanced[1], None)
    book = openpyxl.load_workbook(io.BytesIO(r.xlsx()))
    assert book.sheetnames == SHEETS
    for (name, frame), sheet in zip(r.sheets(), book.worksheets, strict=False):
        rows = list(sheet.iter_rows(values_only=True))
        assert list(rows[0]) == list(frame.columns) and len(rows) - 1 == len(frame), name
        assert sheet.freeze_panes == "A2"
    tiers = book["Tiers"]
    assert [c.value for c in tiers["A"][1:]] == r.tiers["Tier"].tolist()
    assert [c.value for c in tiers["C"][1:]] == r.tiers["Customers at end"].tolist()
    loss = [c for c in tiers["H"][1:] if c.value is not None]
    assert loss and all(c.number_format.startswith('"€"') for c in loss)   # expected loss: money
    assert book["Rising risk"]["H2"].value == pytest.approx(r.rising.iloc[0]["PD rise"])
    drift = book["Drift"]
    assert drift["C2"].is_date and drift["C2"].value.date() == r.drift.iloc[0]["Scored on"]
    listed = [(row[0], row[1]) for row in book[MEANINGS_SHEET].iter_rows(min_row=2, values_only=True)]
    assert listed == [(name, str(c)) for name, frame in r.sheets() for c in frame.columns]
    assert all(row[2] == MEANINGS[row[1]] for row in book[MEANINGS_SHEET].iter_rows(min_row=2, values_only=True))


def test_an_earlier_week_reports_its_own_days(conn, advanced):
    today = conn.execute(text("SELECT pde_business_date()")).scalar_one()
    week = today - timedelta(days=10)
    r = portfolio_report(conn, advanced[1], week)
    assert (r.start, r.end) == (week - timedelta(days=6), week) and r.end_run.as_of == week
    made = conn.execute(text("SELECT count(*) FROM interventions WHERE status <> 'cancelled' "
                             "AND business_date BETWEEN :s AND :e"), {"s": r.start, "e": r.end}).scalar_one()
    assert r.interventions["Made"].sum() == made


def test_a_week_before_any_scoring_says_so(conn):
    r = portfolio_report(conn, Settings(), date(2000, 1, 1))
    assert r.end_run is None and r.rising.empty and r.movement.empty
    assert r.tiers["Customers at end"].isna().all()
    page = r.html()
    assert "No scoring on or before the week" in page
    openpyxl.load_workbook(io.BytesIO(r.xlsx()))
