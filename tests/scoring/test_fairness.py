"""A nightly run's fairness (run_fairness) on the demo bank's latest run, checked against the database."""

from __future__ import annotations

from sqlalchemy import Connection, text

from predelinquency.scoring.fairness import run_fairness
from predelinquency.settings import Settings
from tests.support.bank import DemoBank


def test_run_fairness_on_the_latest_nightly(conn: Connection, demo_bank: DemoBank, settings: Settings):
    as_of, version = demo_bank.as_of, demo_bank.model_version
    r = run_fairness(conn, settings, as_of, version)
    rows, flagged = conn.execute(text(
        "SELECT count(*), count(*) FILTER (WHERE tier IN ('High', 'Critical')) FROM risk_scores "
        "WHERE as_of = :d AND model_version = :v"), {"d": as_of, "v": version}).one()
    assert (r["rows"], r["labelled_rows"]) == (rows, 0) and rows > 0
    assert list(r["attributes"]) == ["age_band", "region", "employment_type", "segment"]
    planned = conn.execute(text(
        "SELECT count(*) FROM contact_plan WHERE business_date = :d AND arm = 'contact'"), {"d": as_of}).scalar_one()
    any_plan = conn.execute(text("SELECT count(*) FROM contact_plan WHERE business_date = :d"),
                            {"d": as_of}).scalar_one() > 0
    for attr in r["attributes"].values():
        groups = attr["groups"]
        assert sum(g["n"] for g in groups) == rows
        assert round(sum(g["n"] * g["flagged_share"] for g in groups)) == flagged
        if any_plan:
            assert round(sum(g["n"] * g["plan_share"] for g in groups)) == planned
        else:
            assert all(g["plan_share"] is None for g in groups)
        assert all(g[k] is None for g in groups for k in ("auc", "observed_rate", "tpr", "tpr_gap"))
    segments = dict(conn.execute(text(
        "SELECT c.segment, count(*) FROM risk_scores rs JOIN customers c USING (customer_id) "
        "WHERE rs.as_of = :d AND rs.model_version = :v GROUP BY c.segment"), {"d": as_of, "v": version}).all())
    assert {g["group"]: g["n"] for g in r["attributes"]["segment"]["groups"]} == segments
    assert all(a["metric"] == "adverse_impact_ratio" for a in r["alerts"])  # no labels: no TPR alert
