import numpy as np

from predelinquency.model.explain import global_importance, top_contributors


def test_global_importance_is_mean_absolute_shap_sorted():
    c = np.array([[0.5, -2.0, 0.1], [-0.5, 1.0, 0.1]])
    imp = global_importance(c, ["a", "b", "c"])
    assert [i["feature"] for i in imp] == ["b", "a", "c"]
    assert imp[0]["importance"] == 1.5 and imp[1]["importance"] == 0.5


def test_top_contributors_match_a_full_sort():
    rng = np.random.default_rng(0)
    c = rng.normal(size=(1000, 40))
    idx, vals = top_contributors(c, k=3)
    expected = np.argsort(-c, axis=1)[:, :3]
    assert np.array_equal(idx, expected)
    assert np.array_equal(vals, np.take_along_axis(c, expected, axis=1))
    idx_small, _ = top_contributors(c[:, :2], k=3)
    assert idx_small.shape == (1000, 2)
