"""The per-leaf SHAP tables give CatBoost's own exact SHAP values, missing values and every depth included."""

import os
import pickle
import select
import signal

import numpy as np
import pytest
from catboost import CatBoostClassifier, Pool

from predelinquency.model.ensemble import RiskEnsemble
from predelinquency.model.learners import FitData, Learner
from predelinquency.model.shap.check import ShapMismatch, checked, probe_rows
from predelinquency.model.shap.oblivious import from_catboost
from tests.support.synthetic import make_table


def _numeric(n: int = 2000, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    X, y, _ = make_table(n, seed)
    Xn = X[["a", "b", "noise"]].assign(flag=X["flag"].astype(float)).to_numpy(dtype=np.float64)
    return Xn, y


@pytest.mark.parametrize(("depth", "nan_mode"), [(3, "Min"), (6, "Min"), (8, "Max")])
def test_tables_match_catboost_regular_shap(depth, nan_mode):
    X, y = _numeric()
    model = CatBoostClassifier(iterations=60, depth=depth, nan_mode=nan_mode, verbose=False,
                               allow_writing_files=False, thread_count=1, random_seed=1).fit(X, y)
    tables = from_catboost(model)
    assert tables is not None
    rows = np.vstack([X[:300], np.full((1, X.shape[1]), np.nan)])  # a row with nothing known at all
    assert np.isnan(rows[:, 0]).sum() > 10
    expected = model.get_feature_importance(Pool(rows), type="ShapValues")
    got = tables.contributions(rows)
    assert got.shape == expected.shape
    np.testing.assert_allclose(got, expected, atol=1e-9)
    np.testing.assert_allclose(got.sum(axis=1), model.predict(rows, prediction_type="RawFormulaVal"), atol=1e-9)


def test_a_model_with_categorical_features_is_left_to_catboost():
    X, y, _ = make_table(800)
    model = CatBoostClassifier(iterations=20, depth=4, verbose=False, allow_writing_files=False, thread_count=1,
                               cat_features=["product"]).fit(X.assign(flag=X["flag"].astype(int)), y)
    assert from_catboost(model) is None


def test_the_ensemble_explains_with_the_tables_before_and_after_pickling():
    X, y, _ = make_table(1500)
    num = X[["a", "b", "noise"]].head(200)
    ens = RiskEnsemble(random_state=0).fit(X[["a", "b", "noise"]], y)
    contrib = ens.contributions(num)
    tables = {n: learner.shap_table() for n, learner in ens.learners_.items()}
    assert tables["catboost"] is not None and tables["xgboost"] is not None  # the tables were used
    assert tables["lightgbm"] is None  # LightGBM explains itself
    # XGBoost computes in float32: agreement to ~1e-6
    np.testing.assert_allclose(contrib.sum(axis=1), ens.decision_function(num), atol=1e-5)
    restored = pickle.loads(pickle.dumps(ens))
    assert not any(hasattr(learner, "_table") for learner in restored.learners_.values())  # never stored
    np.testing.assert_allclose(restored.contributions(num), contrib, atol=1e-12)
    data = FitData(restored.encoder_.transform(num), None, restored.encoder_)
    library = sum(restored.weights_[n] * learner.library_contributions(data)
                  for n, learner in restored.learners_.items())  # the libraries' own computation: the same values
    np.testing.assert_allclose(library, contrib, atol=1e-6)


def test_an_artifact_saved_before_the_learner_classes_still_explains_alike():
    X, y, _ = make_table(1500)
    num = X[["a", "b", "noise"]].head(50)
    ens = RiskEnsemble(random_state=0).fit(X[["a", "b", "noise"]], y)
    old = ens.__getstate__()  # as saved then: the libraries' fitted models themselves
    old["learners_"] = {n: learner.model_ for n, learner in ens.learners_.items()}
    restored = RiskEnsemble.__new__(RiskEnsemble)
    restored.__setstate__(old)
    assert all(isinstance(learner, Learner) for learner in restored.learners_.values())
    np.testing.assert_allclose(restored.contributions(num), ens.contributions(num), atol=1e-12)


def test_a_table_that_disagrees_with_catboost_raises():
    X, y = _numeric()
    model = CatBoostClassifier(iterations=20, depth=4, verbose=False, allow_writing_files=False, thread_count=1,
                               random_seed=1).fit(X, y)
    tables = from_catboost(model)
    rows = probe_rows(X.shape[1], [])

    def shap(r: np.ndarray) -> np.ndarray:
        return model.get_feature_importance(Pool(r), type="ShapValues")

    def raw(r: np.ndarray) -> np.ndarray:
        return model.predict(r, prediction_type="RawFormulaVal")

    assert checked(tables, "CatBoost", shap, raw, rows, 1e-6) is tables
    with pytest.raises(ShapMismatch, match=r"CatBoost's own SHAP values by 0\.01"):
        checked(tables, "CatBoost", lambda r: shap(r) + 0.01, raw, rows, 1e-6)
    with pytest.raises(ShapMismatch, match="CatBoost's own raw prediction"):
        checked(tables, "CatBoost", shap, lambda r: raw(r) - 0.5, rows, 1e-6)


def test_many_rows_explained_in_threaded_blocks_equal_each_row_alone():
    X, y = _numeric(3000)
    model = CatBoostClassifier(iterations=30, depth=4, verbose=False, allow_writing_files=False, thread_count=1,
                               random_seed=1).fit(X, y)
    tables = from_catboost(model)
    together = tables.contributions(X)  # three blocks of rows, explained in the worker threads
    alone = np.vstack([tables.contributions(X[i:i + 1]) for i in range(0, 3000, 97)])
    np.testing.assert_array_equal(together[::97], alone)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_forked_process_explains_in_threads_of_its_own():
    X, y = _numeric(3000)
    model = CatBoostClassifier(iterations=10, depth=3, verbose=False, allow_writing_files=False, thread_count=1,
                               random_seed=1).fit(X, y)
    tables = from_catboost(model)
    expected = tables.contributions(X)  # the parent's pool now exists
    reader, writer = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: its inherited pool has no threads, so it must make its own
        os.close(reader)
        ok = np.array_equal(tables.contributions(X), expected)
        os.write(writer, b"1" if ok else b"0")
        os._exit(0)
    os.close(writer)
    answered, _, _ = select.select([reader], [], [], 120)
    if not answered:  # the child hangs on the inherited pool's missing threads
        os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    assert answered and os.read(reader, 1) == b"1"
