import numpy as np
import pytest

from predelinquency.errors import PdeError
from predelinquency.model.learners import LEARNERS
from predelinquency.model.train import train_table
from predelinquency.settings import Settings, Training
from tests.support.synthetic import make_table

REQUIRED = {"oot_auc", "oot_pr_auc", "brier", "ece", "threshold", "precision_at_threshold", "recall_at_threshold",
            "precision_top5", "recall_top5", "expected_cost", "expected_cost_no_model", "expected_cost_at_0_5",
            "cv_auc_mean", "cv_auc_std", "per_learner_auc", "curves", "importance"}


@pytest.fixture
def fast(tmp_path) -> Settings:
    return Settings(data_dir=tmp_path / "data", training=Training(cv_folds=2, search_trials=1))


def test_train_table_out_of_time(fast):
    X, y, groups = make_table(3000, seed=11, weeks=10)
    result = train_table(X, y, groups, fast, kind="behavioural", gap=1, search_trials=1)
    m = result.metrics
    assert set(m) >= REQUIRED
    assert m["oot_auc"] > 0.75 and m["cv_auc_mean"] > 0.7 and m["cv_folds"] == 2
    assert m["cv_kind"] == "expanding_window"
    assert set(m["per_learner_auc"]) == {"catboost", "xgboost", "lightgbm"}
    assert m["expected_cost"] < m["expected_cost_no_model"]
    assert [i["feature"] for i in m["importance"]][:1] == ["a"]
    split = result.params["split"]
    newest = sorted({str(g) for g in groups})
    assert split["kind"] == "out_of_time" and split["test"]["first"] == newest[-2]
    assert split["validation"]["last"] == newest[-4]  # one week of gap before the test
    assert split["test"]["rows"] == int(np.isin(groups, [np.datetime64(d) for d in newest[-2:]]).sum())
    assert result.model.kind == "behavioural" and 0 < result.model.threshold < 1
    b = result.baseline
    assert set(b["features"]) == {"a", "b", "noise", "flag"}  # numeric ones; the category has no bins
    assert abs(sum(b["score"]["fractions"]) - 1) < 1e-9
    assert b["features"]["a"]["fractions"][-1] > 0.1  # the missing-value share


def test_train_table_without_time_uses_a_stratified_split(fast):
    X, y, _ = make_table(2000, seed=12)
    result = train_table(X, y, None, fast, search_trials=1)
    assert result.params["split"]["kind"] == "stratified_random"
    assert result.metrics["cv_kind"] == "stratified_kfold"
    assert result.params["split"]["test"]["rows"] == 400
    # searched (the defaults only here) on 2 folds of train + validation, blended on their out-of-fold margins
    assert result.params["search_folds"] == 2 and result.params["search_trials"] == dict.fromkeys(LEARNERS, 1)
    ensemble = result.metrics["ensemble"]
    assert ensemble["validation_auc"]["blend"] >= max(ensemble["validation_auc"][n] for n in LEARNERS)
    assert ensemble["validation_auc"]["blend"] == pytest.approx(result.metrics["validation_auc"], abs=1e-6)
    assert ensemble["test_auc"]["blend"] == result.metrics["oot_auc"] and set(ensemble["test_auc"]) > set(LEARNERS)


def test_a_window_without_defaults_is_refused(fast):
    X, y, groups = make_table(1000, seed=13, weeks=8)
    y = y.copy()
    y[groups >= sorted(set(groups))[-2]] = 0
    with pytest.raises(PdeError, match="the test rows have no defaults"):
        train_table(X, y, groups, fast, search_trials=1)


def test_feature_selection_narrows_the_model_but_scores_full_frames(fast):
    X, y, groups = make_table(3000, seed=11, weeks=10)
    fast.training = fast.training.model_copy(update={"max_features": 3})
    result = train_table(X, y, groups, fast, kind="behavioural", gap=1, search_trials=1)
    assert result.params["feature_selection"]["kept"] == 3 and len(result.model.feature_names) == 3
    assert {"a", "b"} <= set(result.model.feature_names)
    # drift is still watched on every numeric column, used by the model or not
    assert set(result.baseline["features"]) == {"a", "b", "noise", "flag"}
    pd_ = result.model.predict_pd(X.head(5))  # extra columns in the frame are ignored
    assert pd_.shape == (5,) and ((pd_ > 0) & (pd_ < 1)).all()
