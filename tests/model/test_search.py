import time

import numpy as np
import pytest
from pydantic import ValidationError

from predelinquency.errors import PdeError
from predelinquency.model.encoding import TableEncoder
from predelinquency.model.ensemble import RiskEnsemble, blend
from predelinquency.model.evaluate import auc
from predelinquency.model.learners import LEARNERS, FitData, LightGBMLearner
from predelinquency.model.learners.base import CLASS_WEIGHTS
from predelinquency.model.search import search
from predelinquency.model.split import stratified_folds
from predelinquency.model.train import train_table
from predelinquency.settings import Settings, Training
from tests.support.synthetic import make_table

FAST = {"catboost": {"iterations": 120}, "xgboost": {"n_estimators": 120}, "lightgbm": {"n_estimators": 120}}


@pytest.fixture(scope="module")
def table():
    X, y, _ = make_table(2400, seed=4)
    return X, y


@pytest.fixture(scope="module")
def folds():
    X, y, _ = make_table(1200, seed=5)
    enc = TableEncoder().fit(X)
    Xe = enc.transform(X)
    return [(FitData(Xe[tr], y[tr], enc), FitData(Xe[va], y[va], enc)) for tr, va in stratified_folds(y, 2, seed=0)]


def _search(folds, **kw):
    args = {"trials": 100, "seconds": 600.0, "random_state": 5, "pos_weight": 5.0, "n_jobs": 2} | kw
    return search(LightGBMLearner, folds, **args)


def test_the_search_stops_at_its_time_budget(folds):
    one = _search(folds, trials=1)
    assert one.trials == 1 and one.params == {**LightGBMLearner.defaults, CLASS_WEIGHTS: True}  # trial 0: defaults

    budget = 2.0
    clock = time.perf_counter()
    r = _search(folds, seconds=budget)
    wall = time.perf_counter() - clock
    assert r.trials < 100  # stopped by the clock, not by the trial count
    longest = max(h["seconds"] for h in r.history)
    assert wall <= budget + longest + 0.5  # the trial running at the deadline is cut before its next fold
    assert r.seconds == pytest.approx(wall, abs=0.2)

    tiny = _search(folds, seconds=1e-6)  # the defaults always run to the end, nothing after them
    assert tiny.trials == 1 and tiny.params[CLASS_WEIGHTS] is True


def test_the_same_seed_and_trial_count_give_the_same_parameters(folds):
    timed = _search(folds, seconds=1.0)
    again = _search(folds, trials=timed.trials)  # no clock: the trial count recorded reproduces the search
    assert again.trials == timed.trials
    assert again.params == timed.params and again.val_auc == timed.val_auc
    other = _search(folds, trials=timed.trials, random_state=6)
    assert [h["val_auc"] for h in other.history] != [h["val_auc"] for h in timed.history]


def test_class_weights_are_a_choice_recorded_with_the_parameters(folds):
    r = _search(folds, trials=2)  # the defaults with class weights, then without
    assert [h["trial"] for h in r.history] == [0, 1]
    assert r.params[CLASS_WEIGHTS] in (True, False)
    assert r.val_auc == pytest.approx(max(h["val_auc"] for h in r.history), abs=1e-6)
    smote = _search(folds, trials=1, class_weights=False)
    assert smote.params[CLASS_WEIGHTS] is False


@pytest.mark.parametrize("seed", range(6))
def test_the_blend_is_never_below_its_best_member(seed):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, 600)
    margins = {"catboost": (y - 0.5) * rng.uniform(0.5, 2) + rng.normal(size=600),
               "xgboost": (y - 0.5) * rng.uniform(0, 2) + rng.normal(size=600) * rng.uniform(0.5, 3),
               "lightgbm": rng.normal(size=600)}
    for prior in (None, {"catboost": 0.2, "xgboost": 0.2, "lightgbm": 0.6}):
        weights, report = blend(margins, y, prior)
        assert min(weights.values()) >= 0 and sum(weights.values()) == pytest.approx(1)
        aucs = report["validation_auc"]
        assert aucs["blend"] >= max(aucs[n] for n in margins)
        assert aucs["blend"] == pytest.approx(auc(y, sum(w * margins[n] for n, w in weights.items())))


def test_a_useless_member_gets_no_weight(table):
    X, y = table[0][:1200], table[1][:1200]
    rng = np.random.default_rng(0)
    y_noise = rng.integers(0, 2, len(y))
    weights, _ = blend({"catboost": (y - 0.5) * 2 + rng.normal(size=len(y)),
                       "lightgbm": (y_noise - 0.5) * 2 + rng.normal(size=len(y))}, y)
    assert weights["lightgbm"] < 0.02
    folds = stratified_folds(y, 2, seed=1)
    e = RiskEnsemble(params=FAST, random_state=1).fit(X, y, folds=folds)
    aucs = e.blend_["validation_auc"]
    assert aucs["blend"] >= max(aucs[n] for n in LEARNERS)
    assert auc(y, e.oof_margin_) == pytest.approx(aucs["blend"])
    assert len(e.fold_auc_) == 2 and set(e.learners_) == set(LEARNERS)
    for name, learner in e.learners_.items():  # refitted on every row with the folds' mean tree count
        assert learner.n_trees_ == max(1, round(np.mean(e.search_[name]["trees"])))


@pytest.mark.parametrize("name", [*LEARNERS, "ensemble"])
def test_monotone_constraints_hold_on_predictions(table, name):
    X, y = table
    monotone = {"b": 1, "noise": -1}
    weights = None if name == "ensemble" else {name: 1.0}  # one learner alone: the log-odds are its own
    e = RiskEnsemble(weights=weights, params=FAST, monotone=monotone, random_state=2).fit(X, y)
    rows = X.sample(40, random_state=0).reset_index(drop=True)
    grid = np.linspace(-3, 3, 31)
    for column, sign in monotone.items():
        varied = rows.loc[rows.index.repeat(len(grid))].reset_index(drop=True)
        varied[column] = np.tile(grid, len(rows))
        z = e.decision_function(varied).reshape(len(rows), len(grid))
        assert (sign * np.diff(z, axis=1) >= -1e-9).all(), f"{name}: {column} breaks its constraint"
    assert e.monotone_ == tuple({"b": 1, "noise": -1}.get(c, 0) for c in e.encoder_.feature_names_)


def test_bad_monotone_config_is_refused(table, tmp_path):
    X, y = table
    with pytest.raises(ValidationError, match=r"\+1 or -1"):
        Training(monotone={"b": 2})
    with pytest.raises(PdeError, match="`salary`, not a feature column"):
        RiskEnsemble(params=FAST, monotone={"salary": 1}).fit(X, y)
    with pytest.raises(PdeError, match="`product` is categorical"):
        RiskEnsemble(params=FAST, monotone={"product": -1}).fit(X, y)
    settings = Settings(data_dir=tmp_path / "data", training=Training(search_trials=1, monotone={"salary": 1}))
    with pytest.raises(PdeError, match="`salary`"):
        train_table(X, y, None, settings)
