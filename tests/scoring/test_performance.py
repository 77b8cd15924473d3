"""Performance before the labels arrive: the expected figures (CBPE) are unbiased where labels exist, each nightly
run is realised once its window closes, and the retrain alert follows governance.auc_floor.

The module's bank is the session's demo bank advanced 45 business days with a nightly every day, once; nobody
works the plan, so no contact changes an outcome and the realised labels are the model's own question.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import timedelta

import numpy as np
import pytest
from sqlalchemy import Engine, create_engine, text

from predelinquency.loop.advance import advance_bank
from predelinquency.model.evaluate import auc
from predelinquency.model.fairness import fairness_figures
from predelinquency.model.performance import auc_standard_error, expected_auc, expected_figures, realised_figures
from predelinquency.scoring.performance import (
    labelled_frame,
    monitor_report,
    performance_alerts,
    realise_closed_runs,
)
from predelinquency.settings import Settings
from tests.conftest import fast_training
from tests.support.bank import DemoBank
from tests.support.db import cloned_database

DAYS = 45


@pytest.fixture(scope="module")
def advanced(pg_server_url: str, demo_bank: DemoBank) -> Iterator[tuple[Engine, Settings]]:
    with cloned_database(pg_server_url, demo_bank.template) as url:
        settings = fast_training(Settings(data_dir=demo_bank.data_dir, database_url=url))
        engine = create_engine(url)
        advance_bank(engine, settings, DAYS, nightly="every", actor="system:test")
        yield engine, settings
        engine.dispose()


def _runs(engine: Engine) -> list[dict]:
    with engine.connect() as c:
        return [dict(r) for r in c.execute(text("SELECT * FROM run_performance ORDER BY as_of")).mappings()]


# --- the estimator on its own ---

def test_expected_auc_is_the_pairwise_ratio_with_ties_halved():
    p = np.array([0.02, 0.1, 0.1, 0.3, 0.3, 0.3, 0.7, 0.9])
    concordant = pairs = 0.0
    for i, j in itertools.permutations(range(len(p)), 2):  # i the default, j the non-default
        w = p[i] * (1 - p[j])
        pairs += w
        concordant += w * (1.0 if p[i] > p[j] else 0.5 if p[i] == p[j] else 0.0)
    assert expected_auc(p) == pytest.approx(concordant / pairs, abs=1e-12)
    assert expected_auc([0.2]) is None and expected_auc([0.0, 0.0]) is None


def test_the_estimate_is_unbiased_when_labels_follow_the_pds():
    """Labels drawn from calibrated PDs: the realised AUC and default rate average to the expected ones.

    Tolerance: four standard errors of the mean over the draws (its SD over the draws / √draws).
    """
    rng = np.random.default_rng(21)
    p = rng.beta(0.6, 8, 300)
    draws = 3000
    y = rng.random((draws, len(p))) < p
    aucs = np.array([auc(row, p) for row in y])
    rates = y.mean(axis=1)
    e = expected_figures(p)
    assert abs(aucs.mean() - e["expected_auc"]) < 4 * aucs.std() / np.sqrt(draws)
    assert abs(rates.mean() - e["expected_default_rate"]) < 4 * rates.std() / np.sqrt(draws)
    # the stored standard error is Hanley & McNeil's: conservative, never narrower than the spread of the draws
    assert aucs.std() <= e["expected_auc_se"] < 2 * aucs.std()


def test_realised_figures_of_one_class_have_no_auc():
    r = realised_figures([0, 0, 0], [0.1, 0.2, 0.3])
    assert r["realised_auc"] is None and r["realised_default_rate"] == 0 and r["labelled_rows"] == 3
    assert realised_figures([], [])["realised_calibration"] is None


# --- the nightly on the advanced bank ---

def test_every_nightly_run_records_its_expected_figures_and_fairness(advanced, demo_bank):
    engine, _ = advanced
    runs = _runs(engine)
    with engine.connect() as c:
        scored = c.execute(text("SELECT as_of, model_version, count(*) FROM risk_scores GROUP BY 1, 2 ORDER BY 1")
                           ).all()
        advance_metrics = c.execute(text("SELECT metrics FROM batch_runs WHERE kind = 'advance' "
                                         "ORDER BY run_id DESC LIMIT 1")).scalar_one()
    assert [(r["as_of"], r["model_version"], r["rows"]) for r in runs] == [tuple(s) for s in scored]
    assert len(runs) == len(demo_bank.as_ofs) + DAYS
    for r in runs:
        assert 0.5 < r["expected_auc"] < 1 and 0 < r["expected_default_rate"] < 1
        assert 0 < r["at_risk_rows"] <= r["rows"] and r["expected_auc_se"] > 0
        assert r["fairness"]["rows"] == r["rows"] and set(r["fairness"]["attributes"]) == {
            "age_band", "region", "employment_type", "segment"}
        assert r["psi"]["score"] is not None
    # the advance's run keeps its last nightly's fairness, the table every day's
    assert advance_metrics["fairness"] == runs[-1]["fairness"]


def test_runs_are_realised_once_their_window_has_closed(advanced, demo_bank):
    engine, settings = advanced
    runs = _runs(engine)
    last_data_day = demo_bank.as_of + timedelta(days=DAYS - 1)
    for r in runs:
        closes = r["as_of"] + timedelta(days=settings.features.outcome_days + settings.simulation.grace_days)
        assert (r["realised_on"] is not None) == (closes <= last_data_day), r["as_of"]
    realised = [r for r in runs if r["realised_on"] is not None]
    assert len(realised) >= 10
    # the realised figures are the training label's: an instalment due in (as_of, as_of + 30] missed
    r = realised[-1]
    with engine.connect() as c:
        frame = labelled_frame(c, settings, r["as_of"], r["model_version"])
        labelled = frame.filter(frame["label"].is_not_null())
        assert labelled.height == r["labelled_rows"] > 0
        assert r["realised_auc"] == pytest.approx(auc(labelled["label"], labelled["pd"]))
        assert r["realised_default_rate"] == pytest.approx(labelled["label"].mean())
        assert [b["rows"] for b in r["realised_calibration"]] == [len(b) for b in np.array_split(
            np.arange(labelled.height), 10)]
        # a re-run on the same data realises nothing again
        again = realise_closed_runs(c, settings, last_data_day, last_data_day + timedelta(days=1))
        assert again["realised"] == 0
        assert c.execute(text("SELECT count(*) FROM run_performance WHERE realised_on IS NOT NULL")).scalar_one() \
            == len(realised)
        c.rollback()


def test_the_expected_figures_match_the_realised_ones(advanced):
    """Over the runs realised, estimated vs realised AUC and default rate agree within their sampling error.

    One run's realised AUC and rate scatter around the expected ones as labels drawn from its PDs do (their SD is
    measured here by drawing them). Consecutive runs share 29 of their 30 outcome days, so the runs are not
    independent: the k runs over k days hold about (k + 30) / 30 independent outcome windows, and the mean error is
    held to 3 of its standard deviations over those (a chance failure of about 0.3 % if calibration holds).
    """
    engine, settings = advanced
    realised = [r for r in _runs(engine) if r["realised_auc"] is not None]
    with engine.connect() as c:
        frame = labelled_frame(c, settings, realised[-1]["as_of"], realised[-1]["model_version"])
    p = frame.filter(frame["label"].is_not_null())["pd"].to_numpy()
    draws = np.random.default_rng(7).random((1000, len(p))) < p
    auc_sd = np.nanstd([auc(d, p) for d in draws])
    rate_sd = draws.mean(axis=1).std()
    span = (realised[-1]["as_of"] - realised[0]["as_of"]).days + 1
    windows = (span + settings.features.outcome_days) / settings.features.outcome_days
    auc_err = np.mean([r["expected_auc"] - r["realised_auc"] for r in realised])
    rate_err = np.mean([r["expected_default_rate"] - r["realised_default_rate"] for r in realised])
    assert abs(auc_err) < 3 * auc_sd / np.sqrt(windows), (auc_err, auc_sd, windows)
    assert abs(rate_err) < 3 * rate_sd / np.sqrt(windows), (rate_err, rate_sd, windows)


def test_realised_fairness_carries_the_labels(advanced):
    engine, settings = advanced
    r = next(r for r in reversed(_runs(engine)) if r["realised_on"] is not None)
    fair = r["realised_fairness"]
    assert fair["labelled_rows"] == r["labelled_rows"] and fair["rows"] == r["rows"]
    with engine.connect() as c:
        frame = labelled_frame(c, settings, r["as_of"], r["model_version"])
    expected = fairness_figures(frame.drop("customer_id"), settings.governance, f"realised {r['as_of']}")
    assert fair == expected
    groups = [g for a in fair["attributes"].values() for g in a["groups"] if not g["too_small"]]
    assert groups and all(g["observed_rate"] is not None for g in groups)


# --- what pde monitor and the pages read ---

def test_monitor_report_lists_runs_newest_first_with_drift(advanced):
    engine, settings = advanced
    with engine.connect() as c:
        report = monitor_report(c, settings)
    runs = report["runs"]
    assert [r["as_of"] for r in runs] == sorted((r["as_of"] for r in runs), reverse=True)
    assert all(r["score_psi"] is not None and r["score_psi_band"] for r in runs)
    assert any(r["realised_auc"] is not None for r in runs) and runs[0]["realised_auc"] is None
    assert report["auc_floor"] == settings.governance.auc_floor


def test_an_auc_below_the_floor_raises_the_retrain_alert(advanced):
    engine, settings = advanced
    with engine.connect() as c:
        champion = c.execute(text("SELECT version FROM model_versions WHERE status = 'champion'")).scalar_one()
        high = settings.model_copy(update={"governance": settings.governance.model_copy(update={"auc_floor": 0.99})})
        low = settings.model_copy(update={"governance": settings.governance.model_copy(update={"auc_floor": 0.51})})
        raised = monitor_report(c, high)["alerts"]
        quiet = monitor_report(c, low)["alerts"]
    retrain = [a for a in raised if a["kind"] == "retrain"]
    assert {a["source"] for a in retrain} == {"expected", "realised"}
    assert all(a["model_version"] == champion and a["value"] < 0.99 and "below the floor" in a["message"]
               for a in retrain)
    assert not [a for a in quiet if a["kind"] == "retrain"]


def test_alerts_follow_the_newest_runs_of_the_champion():
    def run(as_of, version, e, r=None, fairness=None):
        return {"as_of": as_of, "model_version": version, "expected_auc": e, "realised_auc": r,
                "fairness": fairness, "realised_fairness": None}

    low = {"alerts": [{"attribute": "region", "group": "North", "metric": "adverse_impact_ratio", "value": 0.7,
                       "limit": 0.8}]}
    runs = [run("2026-03-02", "new", 0.80, fairness=low), run("2026-03-01", "old", 0.55),
            run("2026-01-20", "new", 0.60, 0.62)]  # newest first
    alerts = performance_alerts(runs, "new", 0.65)
    assert [(a["kind"], a["source"], a["as_of"]) for a in alerts] == [
        ("retrain", "realised", "2026-01-20"), ("fairness", "nightly", "2026-03-02")]
    assert "adverse-impact ratio 0.70 below the limit 0.80" in alerts[1]["message"]
    assert auc_standard_error(0.5, 0, 10) is None

