"""The per-leaf pattern tables give XGBoost's own exact SHAP values."""

import itertools
import math

import numpy as np
import pandas as pd
import pytest
from xgboost import DMatrix, XGBClassifier

from predelinquency.model.shap import paths
from predelinquency.model.shap.check import ShapMismatch, checked, probe_rows
from predelinquency.model.shap.paths import MAX_PLAYERS, PathShap, pattern_tables
from tests.support.synthetic import make_table


def _numeric(n: int = 2000, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Numeric features with NaNs, exact zeros and ties on thresholds, as customers' features have."""
    X, y, _ = make_table(n, seed)
    Xn = X[["a", "b", "noise"]].assign(flag=X["flag"].astype(float)).to_numpy(dtype=np.float64)
    rng = np.random.default_rng(seed)
    Xn[rng.random(Xn.shape) < 0.05] = 0.0
    Xn[:, 3][rng.random(n) < 0.3] = np.nan
    return Xn, y


def _rows(X: np.ndarray) -> np.ndarray:
    """Training rows plus a row with nothing known and a row of zeros."""
    return np.vstack([X[:300], np.full((1, X.shape[1]), np.nan), np.zeros((1, X.shape[1]))])


def _shapley(k: int, z: np.ndarray, o: np.ndarray, v: float) -> np.ndarray:
    """Brute force: Shapley values of the leaf game f(S) = v Π_{i∈S} o_i Π_{i∉S} z_i over k players."""
    def f(S: set[int]) -> float:
        return v * math.prod(o[i] if i in S else z[i] for i in range(k))

    phi = np.zeros(k)
    for s in range(k):
        others = [i for i in range(k) if i != s]
        for size in range(k):
            for S in itertools.combinations(others, size):
                w = math.factorial(size) * math.factorial(k - size - 1) / math.factorial(k)
                phi[s] += w * (f(set(S) | {s}) - f(set(S)))
    return phi


@pytest.mark.parametrize("k", [1, 2, 3, 5])
def test_pattern_tables_are_the_shapley_values_of_each_leaf_game(k):
    rng = np.random.default_rng(k)
    z = rng.uniform(0.05, 0.95, size=(3, k))
    v = rng.normal(size=3)
    tables = pattern_tables(z, v)
    assert tables.shape == (3, 1 << k, k)
    for leaf, pattern in itertools.product(range(3), range(1 << k)):
        o = np.array([(pattern >> i) & 1 for i in range(k)], dtype=float)
        np.testing.assert_allclose(tables[leaf, pattern], _shapley(k, z[leaf], o, v[leaf]), atol=1e-12)


@pytest.mark.parametrize("depth", [2, 4, 6])
def test_tables_match_xgboost_pred_contribs(depth):
    X, y = _numeric()
    model = XGBClassifier(n_estimators=80, max_depth=depth, learning_rate=0.1, n_jobs=1, random_state=0).fit(X, y)
    iterations = (0, 50)  # the trees up to an early-stopped best iteration, as the ensemble uses them
    tables = paths.from_xgboost(model, iterations)
    assert tables is not None
    rows = _rows(X)
    expected = model.get_booster().predict(DMatrix(rows, missing=np.nan), pred_contribs=True,
                                           iteration_range=iterations)
    got = tables.contributions(rows)
    assert got.shape == expected.shape
    # XGBoost computes in float32
    np.testing.assert_allclose(got, expected, atol=2e-5)
    margin = model.get_booster().predict(DMatrix(rows, missing=np.nan), output_margin=True, iteration_range=iterations)
    np.testing.assert_allclose(got.sum(axis=1), margin, atol=2e-5)


def test_trees_that_are_a_single_leaf_add_to_the_expected_value_only():
    # a strong penalty on splits leaves some trees (here: all after the first few) without any split, as a
    # search's heavily regularised trials do; `pde train --data` failed on them before
    X, y = _numeric()
    model = XGBClassifier(n_estimators=30, max_depth=3, learning_rate=0.3, gamma=40.0, n_jobs=1,
                          random_state=0).fit(X, y)
    dumps = model.get_booster().get_dump()
    assert any(":leaf=" in d and "<" not in d for d in dumps)  # at least one tree is a lone leaf
    tables = paths.from_xgboost(model, (0, 0))
    assert tables is not None
    rows = _rows(X)
    expected = model.get_booster().predict(DMatrix(rows, missing=np.nan), pred_contribs=True)
    np.testing.assert_allclose(tables.contributions(rows), expected, atol=2e-5)


def test_a_model_trained_on_named_columns_is_read_by_position():
    X, y = _numeric()
    frame = pd.DataFrame(X, columns=["a", "b", "noise", "flag"])
    model = XGBClassifier(n_estimators=20, max_depth=3, n_jobs=1, random_state=0).fit(frame, y)
    tables = paths.from_xgboost(model, (0, 0))
    assert tables is not None
    expected = model.get_booster().predict(DMatrix(frame.head(100)), pred_contribs=True)
    np.testing.assert_allclose(tables.contributions(X[:100]), expected, atol=2e-5)


def test_blocks_of_rows_give_the_values_of_each_row_alone(monkeypatch):
    X, y = _numeric(3000)
    model = XGBClassifier(n_estimators=30, max_depth=4, n_jobs=1, random_state=0).fit(X, y)
    tables = paths.from_xgboost(model, (0, 0))
    assert tables is not None
    monkeypatch.setattr(paths, "_BLOCK_ELEMENTS", tables.feature.size * 50)  # blocks of 50 rows
    together = tables.contributions(X[:600])  # twelve blocks, explained in the worker threads
    alone = np.vstack([tables.contributions(X[i:i + 1]) for i in range(0, 600, 37)])
    np.testing.assert_array_equal(together[::37], alone)


def _chain(depth: int) -> dict:
    """An XGBoost tree dump splitting on a different feature at every level down one side."""
    node: dict = {"nodeid": 2 * depth, "leaf": 1.0, "cover": 10.0}
    for d in reversed(range(depth)):
        right = {"nodeid": 2 * d + 1, "leaf": -1.0, "cover": 10.0}
        node = {"nodeid": 2 * d, "split": f"f{d}", "split_condition": 0.5, "yes": node["nodeid"],
                "no": right["nodeid"], "missing": node["nodeid"], "cover": 20.0 + 10 * (depth - d),
                "children": [node, right]}
    return node


def test_a_leaf_with_too_many_path_features_or_too_large_tables_are_left_to_the_library(monkeypatch):
    one = PathShap.build([_chain(MAX_PLAYERS)], 0.0)
    assert one is not None
    assert PathShap.build([_chain(MAX_PLAYERS + 1)], 0.0) is None
    monkeypatch.setattr(paths, "MAX_TABLE_BYTES", one.table.nbytes)
    assert PathShap.build([_chain(MAX_PLAYERS)], 0.0) is not None
    assert PathShap.build([_chain(MAX_PLAYERS)] * 2, 0.0) is None


def test_a_table_that_disagrees_with_xgboost_raises():
    X, y = _numeric()
    model = XGBClassifier(n_estimators=10, max_depth=3, n_jobs=1, random_state=0).fit(X, y)
    tables = paths.from_xgboost(model, (0, 0))
    assert tables is not None
    rows = probe_rows(X.shape[1], [])

    def shap(r: np.ndarray) -> np.ndarray:  # a library that disagrees by 0.01 on every value
        return model.get_booster().predict(DMatrix(r, missing=np.nan), pred_contribs=True) + 0.01

    def raw(r: np.ndarray) -> np.ndarray:
        return model.get_booster().predict(DMatrix(r, missing=np.nan), output_margin=True)

    with pytest.raises(ShapMismatch, match=r"differs from XGBoost's own SHAP values by 0\.01 on 64 probe rows"):
        checked(tables, "XGBoost", shap, raw, rows, paths.TOLERANCE)
