"""The per-leaf SHAP tables give CatBoost's own exact SHAP values, missing values and every depth included."""

import os
import pickle
import select
import signal

import numpy as np
import pytest
from catboost import CatBoostClassifier, Pool

from predelinquency.model.ensemble import RiskEnsemble
from predelinquency.model.oblivious import ObliviousShap
from tests.model.synthetic import make_table


def _numeric(n: int = 2000, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    X, y, _ = make_table(n, seed)
    Xn = X[["a", "b", "noise"]].assign(flag=X["flag"].astype(float)).to_numpy(dtype=np.float64)
    return Xn, y


@pytest.mark.parametrize(("depth", "nan_mode"), [(3, "Min"), (6, "Min"), (8, "Max")])
def test_tables_match_catboost_regular_shap(depth, nan_mode):
    X, y = _numeric()
    model = CatBoostClassifier(iterations=60, depth=depth, nan_mode=nan_mode, verbose=False,
                               allow_writing_files=False, thread_count=1, random_seed=1).fit(X, y)
    tables = ObliviousShap.from_catboost(model)
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
                               cat_features=["segment"]).fit(X.assign(flag=X["flag"].astype(int)), y)
    assert ObliviousShap.from_catboost(model) is None


def test_the_ensemble_explains_with_the_tables_before_and_after_pickling():
    X, y, _ = make_table(1500)
    num = X[["a", "b", "noise"]].head(200)
    ens = RiskEnsemble(random_state=0).fit(X[["a", "b", "noise"]], y)
    contrib = ens.contributions(num)
    assert all(t is not None for t in ens._tables_.values())  # the tables were used, for every learner
    # XGBoost and LightGBM compute in float32: agreement to ~1e-6
    np.testing.assert_allclose(contrib.sum(axis=1), ens.decision_function(num), atol=1e-5)
    restored = pickle.loads(pickle.dumps(ens))
    assert not hasattr(restored, "_tables_")  # derived from the model, never stored with it
    np.testing.assert_allclose(restored.contributions(num), contrib, atol=1e-12)
    restored._tables_ = dict.fromkeys(restored.learners_)  # the libraries' own computation: the same values
    np.testing.assert_allclose(restored.contributions(num), contrib, atol=1e-6)



def test_many_rows_explained_in_threaded_blocks_equal_each_row_alone():
    X, y = _numeric(3000)
    model = CatBoostClassifier(iterations=30, depth=4, verbose=False, allow_writing_files=False, thread_count=1,
                               random_seed=1).fit(X, y)
    tables = ObliviousShap.from_catboost(model)
    together = tables.contributions(X)  # three blocks of rows, explained in the worker threads
    alone = np.vstack([tables.contributions(X[i:i + 1]) for i in range(0, 3000, 97)])
    np.testing.assert_array_equal(together[::97], alone)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_forked_process_explains_in_threads_of_its_own():
    X, y = _numeric(3000)
    model = CatBoostClassifier(iterations=10, depth=3, verbose=False, allow_writing_files=False, thread_count=1,
                               random_seed=1).fit(X, y)
    tables = ObliviousShap.from_catboost(model)
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
