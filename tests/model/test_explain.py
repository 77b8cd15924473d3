import numpy as np

from predelinquency.model.shap.importance import global_importance


def test_global_importance_is_mean_absolute_shap_sorted():
    c = np.array([[0.5, -2.0, 0.1], [-0.5, 1.0, 0.1]])
    imp = global_importance(c, ["a", "b", "c"])
    assert [i["feature"] for i in imp] == ["b", "a", "c"]
    assert imp[0]["importance"] == 1.5 and imp[1]["importance"] == 0.5
