"""Fairness figures on a small hand-built population, and training's refusal of sensitive attributes as features."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from sqlalchemy import create_engine, text

from predelinquency.errors import PdeError
from predelinquency.model.behavioural import train_behavioural
from predelinquency.model.fairness import AGE_BANDS, MISSING, age_band, fairness_figures
from predelinquency.model.registry import list_versions
from predelinquency.model.tabular import load_training_table, train_file
from predelinquency.model.train import train_table
from predelinquency.settings import Governance, Settings
from tests.conftest import fast_training
from tests.support.synthetic import make_table


def _rows(group: str, n: int, flagged: int, defaults: int, caught: int) -> pl.DataFrame:
    """n rows of one segment: `flagged` of them flagged, `defaults` defaulters of whom `caught` are flagged.

    A flagged row has PD 0.4, any other 0.02; the contact plan holds exactly the flagged rows."""
    f = np.zeros(n, dtype=bool)
    y = np.zeros(n, dtype=np.int8)
    y[:defaults] = 1
    f[:caught] = True
    f[defaults:defaults + flagged - caught] = True
    return pl.DataFrame({"segment": [group] * n, "pd": np.where(f, 0.4, 0.02), "flagged": f, "in_plan": f,
                         "label": y})


# group: rows, flagged, defaulters, defaulters flagged
HAND_BUILT = {"A": (100, 10, 10, 9), "B": (100, 28, 10, 8), "C": (100, 30, 10, 7), "D": (20, 20, 5, 5),
              "E": (60, 6, 5, 1)}


@pytest.fixture
def population() -> pl.DataFrame:
    return pl.concat([_rows(g, *spec) for g, spec in HAND_BUILT.items()])


def _groups(figures: dict, attribute: str = "segment") -> dict[str, dict]:
    return {g["group"]: g for g in figures["attributes"][attribute]["groups"]}


def test_hand_built_figures_and_alerts_at_the_limits(population: pl.DataFrame):
    r = fairness_figures(population, Governance(), "hand-built")
    assert (r["population"], r["rows"], r["labelled_rows"]) == ("hand-built", 380, 380)
    seg = r["attributes"]["segment"]
    # the most favoured: the highest share not flagged (0.9) among groups of 50+ (A and E tie; the larger wins)
    assert seg["reference_group"] == "A"
    g = _groups(r)
    assert [g[k]["flagged_share"] for k in "ABCDE"] == [0.1, 0.28, 0.3, 1.0, 0.1]
    assert [g[k]["plan_share"] for k in "ABCDE"] == [0.1, 0.28, 0.3, 1.0, 0.1]
    # not-flagged share over A's 0.9: B 0.72 / 0.9 = 0.8 exactly (at the limit), C 0.7 / 0.9 below it
    assert [g[k]["adverse_impact_ratio"] for k in "ABCDE"] == [1.0, 0.8, 0.777778, 0.0, 1.0]
    # share of each group's defaulters flagged; the best-served group with 10+ defaulters is A (0.9)
    assert [g[k]["tpr"] for k in "ABCDE"] == [0.9, 0.8, 0.7, 1.0, 0.2]
    assert [g[k]["tpr_gap"] for k in "ABCDE"] == [0.0, 0.1, 0.2, -0.1, 0.7]
    assert [g[k]["too_small"] for k in "ABCDE"] == [False, False, False, True, False]
    # calibration and AUC of A: PD 0.4 on 10 flagged rows, 0.02 on 90; 850 of 900 pairs ranked (ties count half)
    assert (g["A"]["mean_pd"], g["A"]["observed_rate"], g["A"]["auc"]) == (0.058, 0.1, 0.944444)
    assert (g["D"]["mean_pd"], g["D"]["observed_rate"]) == (0.4, 0.25)
    # B sits exactly at both limits: no alert; D is too small; E's TPR rests on 5 defaulters (< 1 / 0.1): no alert
    assert r["alerts"] == [
        {"attribute": "segment", "group": "C", "metric": "adverse_impact_ratio", "value": 0.777778, "limit": 0.8},
        {"attribute": "segment", "group": "C", "metric": "tpr_gap", "value": 0.2, "limit": 0.1}]


def test_limits_and_group_size_come_from_the_settings(population: pl.DataFrame):
    strict = Governance(min_group_size=10, adverse_impact_min=0.85, tpr_gap_max=0.05)
    r = fairness_figures(population, strict, "hand-built")
    assert not any(g["too_small"] for g in r["attributes"]["segment"]["groups"])
    alerts = {(a["group"], a["metric"]) for a in r["alerts"]}
    # D (20 rows) now counts; TPR alerts need 1 / 0.05 = 20 defaulters, which no group has
    assert alerts == {("B", "adverse_impact_ratio"), ("C", "adverse_impact_ratio"), ("D", "adverse_impact_ratio")}


def test_without_labels_or_plan_the_label_figures_are_null(population: pl.DataFrame):
    frame = population.with_columns(pl.lit(None, dtype=pl.Int8).alias("label"),
                                    pl.lit(None, dtype=pl.Boolean).alias("in_plan"))
    r = fairness_figures(frame, Governance(), "nightly")
    assert r["labelled_rows"] == 0
    g = _groups(r)
    assert all(g[k][f] is None for k in g for f in ("auc", "observed_rate", "tpr", "tpr_gap", "plan_share"))
    assert g["A"]["mean_pd"] == 0.058  # over all rows when nothing is labelled
    assert [a["metric"] for a in r["alerts"]] == ["adverse_impact_ratio"]


def test_missing_attribute_values_form_their_own_group_and_absent_attributes_are_left_out(population):
    frame = population.with_columns(pl.when(pl.col("segment") == "E").then(None).otherwise(pl.col("segment"))
                                    .alias("segment"))
    r = fairness_figures(frame, Governance(), "p")
    assert list(r["attributes"]) == ["segment"]  # no region, age band or employment type in the frame
    assert MISSING in _groups(r)


def test_age_bands():
    assert age_band([18, 24, 25, 34.9, 35, 64, 65, 99, None, 17]).to_list() == [
        "18-24", "18-24", "25-34", "25-34", "35-44", "55-64", "65+", "65+", None, None]
    assert set(age_band(np.arange(18, 101)).to_list()) == set(AGE_BANDS)


def test_training_refuses_a_sensitive_attribute_as_a_feature(settings: Settings):
    settings.governance = Governance()  # the defaults, whatever the environment says
    X, y, groups = make_table(300, seed=1)
    with pytest.raises(PdeError, match=r"`segment`.*sensitive attribute"):
        train_table(X.assign(segment="mass"), y, groups, settings)
    with pytest.raises(PdeError, match=r"`Age` \(as age_band\)"):
        train_table(X.assign(Age=40), y, groups, settings)


def test_behavioural_training_refuses_a_feature_configured_as_sensitive(fresh_settings: Settings):
    fresh_settings.governance = Governance(sensitive_attributes=["declared_monthly_income"])
    engine = create_engine(fresh_settings.database_url)
    try:
        with pytest.raises(PdeError, match="`declared_monthly_income`"):
            train_behavioural(engine, fresh_settings, "system:test")
        with engine.connect() as c:  # refused before anything is recorded
            assert c.execute(text("SELECT count(*) FROM batch_runs")).scalar_one() == 0
    finally:
        engine.dispose()


def _loans(tmp_path: Path, n: int = 1500) -> Path:
    """A bank's table: features, the target, a time column and two sensitive attributes (age, region)."""
    X, y, groups = make_table(n, seed=21)
    rng = np.random.default_rng(5)
    df = X.rename(columns={"segment": "product"}).assign(
        as_of=groups, defaulted=y, age=rng.integers(18, 90, size=n),
        region=rng.choice(["north", "south", "east"], size=n))
    path = tmp_path / "loans.csv"
    df.to_csv(path, index=False)
    return path


def test_a_tables_attribute_columns_are_refused_as_features_unless_kept_aside(tmp_path: Path):
    path = _loans(tmp_path, 300)
    with pytest.raises(PdeError, match=r"`age` \(as age_band\), `region`.*--attributes"):
        load_training_table(path, "defaulted", time_column="as_of")
    with pytest.raises(PdeError, match="`product` is not named like a sensitive attribute"):
        load_training_table(path, "defaulted", time_column="as_of", attributes=["age", "region", "product"])
    table = load_training_table(path, "defaulted", time_column="as_of", attributes=["age", "region"])
    assert "age" not in table.X.columns and "region" not in table.X.columns
    assert table.attributes.columns == ["age_band", "region"]
    assert set(table.attributes["age_band"].to_list()) <= set(AGE_BANDS)


def test_tabular_training_stores_the_tests_fairness(fresh_settings: Settings, tmp_path: Path):
    settings = fast_training(fresh_settings)
    engine = create_engine(settings.database_url)
    try:
        r = train_file(settings, engine, _loans(tmp_path), "defaulted", actor="system:test", time_column="as_of",
                       attributes=["age", "region"])
        with engine.connect() as c:
            stored = c.execute(text("SELECT metrics->'fairness' FROM model_versions WHERE version = :v"),
                               {"v": r["version"]}).scalar_one()
            listed = list_versions(c)
    finally:
        engine.dispose()
    fair = r["metrics"]["fairness"]
    test = r["params"]["split"]["test"]
    assert stored == fair and listed[0]["fairness_alerts"] == fair["alerts"]
    assert fair["population"] == "out-of-time test" and fair["rows"] == fair["labelled_rows"] == test["rows"]
    assert list(fair["attributes"]) == ["age_band", "region"]
    for attr in fair["attributes"].values():
        assert sum(g["n"] for g in attr["groups"]) == test["rows"]
        assert sum(g["defaults"] for g in attr["groups"]) == test["defaults"]
        assert all(g["plan_share"] is None for g in attr["groups"])
    assert {g["group"] for g in fair["attributes"]["region"]["groups"]} == {"north", "south", "east"}
    assert r["params"]["attribute_columns"] == ["age", "region"]


def test_pde_train_data_takes_the_attribute_columns_aside(cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    from predelinquency.cli import app

    monkeypatch.setenv("PDE_TRAINING__CV_FOLDS", "2")  # the attributes' path is checked, not the search
    monkeypatch.setenv("PDE_TRAINING__SEARCH_TRIALS", "1")
    path = _loans(tmp_path, 600)
    refused = cli.invoke(app, ["train", "--data", str(path), "--target", "defaulted", "--time", "as_of"])
    assert isinstance(refused.exception, PdeError) and "--attributes" in str(refused.exception)
    res = cli.invoke(app, ["train", "--data", str(path), "--target", "defaulted", "--time", "as_of",
                           "--attributes", "age, region", "--json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    assert set(out["metrics"]["fairness"]["attributes"]) == {"age_band", "region"}
