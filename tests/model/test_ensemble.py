import numpy as np
import pandas as pd
import polars as pl
import pytest
from sklearn.base import clone
from sklearn.metrics import roc_auc_score

from predelinquency.errors import PdeError
from predelinquency.model.encoding import TableEncoder
from predelinquency.model.ensemble import RiskEnsemble, fit_weights
from predelinquency.model.learners import LEARNERS, FitData
from predelinquency.model.resample import smote
from tests.support.synthetic import make_table

FAST = {"catboost": {"iterations": 150}, "xgboost": {"n_estimators": 150}, "lightgbm": {"n_estimators": 150}}


@pytest.fixture(scope="module")
def data():
    X, y, _ = make_table(3000, seed=1)
    return X.iloc[:1800], y[:1800], X.iloc[1800:2400], y[1800:2400], X.iloc[2400:], y[2400:]


@pytest.mark.parametrize("imbalance", ["class_weights", "smote"])
def test_ensemble_beats_a_trivial_model(data, imbalance):
    Xtr, ytr, Xva, yva, Xte, yte = data
    # a generous budget: on a busy machine the clock would otherwise cut the second trial
    e = RiskEnsemble(imbalance=imbalance, search_trials=2, search_seconds=600, random_state=3)
    assert e.fit(Xtr, ytr, Xva, yva) is e
    p = e.predict_proba(Xte)
    assert p.shape == (len(Xte), 2) and np.allclose(p.sum(axis=1), 1)
    auc = roc_auc_score(yte, p[:, 1])
    # the signal is strong: a constant (trivial) model has AUC 0.5
    assert auc > 0.78
    assert set(e.learners_) == {"catboost", "xgboost", "lightgbm"}
    assert pytest.approx(sum(e.weights_.values())) == 1 and min(e.weights_.values()) >= 0
    aucs = e.blend_["validation_auc"]
    assert aucs["blend"] >= max(aucs[n] for n in e.learners_)  # fitted on validation, never below a member
    for name, searched in e.search_.items():
        assert searched["trials"] == 2 and e.params_[name]  # searched, and the chosen tree count recorded
        assert e.params_[name]["class_weights"] == searched["params"]["class_weights"]


def test_follows_the_scikit_learn_contract(data):
    Xtr, ytr, *_ = data
    e = RiskEnsemble(weights={"xgboost": 1.0}, params=FAST, random_state=7)
    assert e.get_params()["weights"] == {"xgboost": 1.0}
    assert not hasattr(e, "learners_")
    c = clone(e)
    c.fit(Xtr, ytr)  # no validation: fixed tree counts, no early stopping
    assert set(c.learners_) == {"xgboost"}  # a learner weighted 0 is not trained
    assert list(c.feature_names_in_) == list(Xtr.columns) and c.n_features_in_ == Xtr.shape[1]
    assert set(c.predict(Xtr)) <= {0, 1}


@pytest.mark.parametrize("name", list(LEARNERS))
def test_each_learner_follows_the_scikit_learn_contract(data, name):
    Xtr, ytr, Xva, yva, *_ = data
    enc = TableEncoder().fit(Xtr)
    train, val = FitData(enc.transform(Xtr), ytr, enc), FitData(enc.transform(Xva), yva, enc)
    learner = LEARNERS[name](FAST[name], random_state=0)
    assert learner.name == name and clone(learner).get_params() == learner.get_params()
    assert not hasattr(learner, "model_")
    assert learner.fit(train, val) is learner
    assert learner.params_[learner.trees_param] == learner.n_trees_ <= 150  # early-stopped
    margin = learner.margin(val)
    assert margin.shape == (len(Xva),) and roc_auc_score(yva, margin) > 0.75
    np.testing.assert_allclose(learner.contributions(val).sum(axis=1), margin, atol=1e-5)
    np.testing.assert_allclose(learner.contributions(val), learner.library_contributions(val), atol=1e-5)


def test_contributions_add_up_to_the_log_odds(data):
    Xtr, ytr, Xva, yva, Xte, _ = data
    e = RiskEnsemble(params=FAST, random_state=1).fit(Xtr, ytr, Xva, yva)
    c = e.contributions(Xte)
    assert c.shape == (len(Xte), Xte.shape[1] + 1)
    assert np.allclose(c.sum(axis=1), e.decision_function(Xte), atol=1e-5)
    one = Xte.iloc[0].to_dict()  # a single customer as a mapping (the API's path)
    assert np.allclose(e.contributions(one), c[:1], atol=1e-9)
    fast = e.contributions(Xte, approximate=True)  # path attribution: a different split, the same total
    assert np.allclose(fast.sum(axis=1), e.decision_function(Xte), atol=1e-5)


def test_polars_input_unknown_categories_and_missing_columns(data):
    Xtr, ytr, Xva, yva, Xte, _ = data
    e = RiskEnsemble(params=FAST).fit(pl.from_pandas(Xtr), ytr, pl.from_pandas(Xva), yva)
    assert e.encoder_.categorical_ == ["product"]
    odd = Xte.head(5).copy()
    odd["product"] = ["never-seen", None, "card", "mortgage", "loan"]
    assert np.isfinite(e.predict_proba(odd)).all()  # unseen category = missing, no error
    with pytest.raises(PdeError, match="column `b` is missing"):
        e.predict_proba(Xte.drop(columns=["b"]))
    bad = Xte.head(3).astype({"a": object})
    bad.iloc[1, bad.columns.get_loc("a")] = "twelve"
    with pytest.raises(PdeError, match=r"column `a` must be numeric.*'twelve' at row 2"):
        e.predict_proba(bad)


def test_fitted_weights_are_a_distribution_favouring_the_informative_learner():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 2000)
    good = (y - 0.5) * 3 + rng.normal(size=2000)
    noise = rng.normal(size=2000)
    w = fit_weights(np.column_stack([good, noise]), y)
    assert w.min() >= 0 and w.sum() == pytest.approx(1)
    assert w[0] > 0.9


def test_smote_adds_only_synthetic_defaulters_and_keeps_missing_values():
    X, y, _ = make_table(1500, seed=2)
    enc = TableEncoder().fit(X)
    Xe = enc.transform(X)
    Xr, yr = smote(Xe, y, enc.categorical_index_, seed=0)
    assert np.array_equal(Xr[: len(y)], Xe, equal_nan=True) and np.array_equal(yr[: len(y)], y)
    synth = Xr[len(y):]
    assert (yr[len(y):] == 1).all()
    assert yr.sum() / (len(yr) - yr.sum()) == pytest.approx(0.5, abs=0.01)
    a = enc.feature_names_.index("a")
    assert np.isnan(synth[:, a]).any()  # defaulters often lack `a`: so do some synthetic ones
    seg = enc.feature_names_.index("product")
    assert set(np.unique(synth[:, seg])) <= {0.0, 1.0, 2.0}  # categories stay valid codes
    assert pd.Series(synth[:, enc.feature_names_.index("flag")]).isin([0.0, 1.0]).all()


def test_a_matrix_input_must_match_the_model_columns():
    X, y, _ = make_table(800)
    num = X[["a", "b", "noise"]]
    ens = RiskEnsemble(random_state=0, weights={"lightgbm": 1.0}).fit(num, y)
    matrix = num.head(50).to_numpy()
    np.testing.assert_allclose(ens.decision_function(matrix), ens.decision_function(num.head(50)))
    with pytest.raises(PdeError, match=r"must be \(rows, 3\)"):
        ens.decision_function(matrix[:, :2])
    with_category = RiskEnsemble(random_state=0, weights={"lightgbm": 1.0}).fit(X[["a", "product"]], y)
    with pytest.raises(PdeError, match="without categorical features"):
        with_category.decision_function(X[["a", "product"]].head(5).to_numpy())


def test_unknown_learner_in_the_weights_is_named_with_the_registered_ones(data):
    Xtr, ytr, *_ = data
    with pytest.raises(PdeError, match=r"unknown learners \['catbost'\]; the learners are catboost, xgboost"):
        RiskEnsemble(weights={"catbost": 1.0}).fit(Xtr, ytr)
