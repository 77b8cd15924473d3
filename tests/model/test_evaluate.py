import math

import numpy as np
import pytest
from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score

from predelinquency.model.evaluate import MAX_POINTS, evaluate, expected_calibration_error
from predelinquency.settings import Costs

COSTS = Costs(missed_default=2000.0, intervention=60.0)


@pytest.fixture(scope="module")
def scored():
    rng = np.random.default_rng(4)
    n = 5000
    pd_ = rng.beta(1, 10, n)
    y = (rng.random(n) < pd_).astype(int)
    return y, pd_


def test_metrics_agree_with_sklearn_and_direct_counts(scored):
    y, p = scored
    t = 0.08
    m = evaluate(y, p, t, COSTS)
    assert m["oot_auc"] == pytest.approx(roc_auc_score(y, p), abs=1e-6)
    assert m["oot_pr_auc"] == pytest.approx(average_precision_score(y, p), abs=1e-6)
    assert m["brier"] == pytest.approx(brier_score_loss(y, p), abs=1e-6)
    act = p >= t
    tp, fp = int((act & (y == 1)).sum()), int((act & (y == 0)).sum())
    assert m["precision_at_threshold"] == pytest.approx(tp / act.sum(), abs=1e-6)
    assert m["recall_at_threshold"] == pytest.approx(tp / y.sum(), abs=1e-6)
    k = math.ceil(0.05 * len(y))
    top = np.argsort(-p)[:k]
    assert m["precision_top5"] == pytest.approx(y[top].mean(), abs=1e-6)
    assert m["recall_top5"] == pytest.approx(y[top].sum() / y.sum(), abs=1e-6)
    fn = int(y.sum()) - tp
    assert m["expected_cost"] == pytest.approx(2000 * fn + 60 * fp)
    assert m["expected_cost_no_model"] == pytest.approx(2000 * y.sum())
    half = p >= 0.5
    assert m["expected_cost_at_0_5"] == pytest.approx(2000 * (~half & (y == 1)).sum() + 60 * (half & (y == 0)).sum())
    assert m["curves"]["confusion"] == {"tp": tp, "fp": fp, "tn": int((~act & (y == 0)).sum()), "fn": fn}


def test_curves_are_downsampled_for_the_dashboard(scored):
    y, p = scored
    curves = evaluate(y, p, 0.1, COSTS)["curves"]
    for name, keys in {"roc": ("fpr", "tpr"), "pr": ("precision", "recall"),
                       "cost_curve": ("threshold", "cost"), "calibration": ("pred", "true", "count")}.items():
        lengths = {len(curves[name][k]) for k in keys}
        assert len(lengths) == 1 and 2 <= lengths.pop() <= MAX_POINTS, name
    roc = curves["roc"]
    assert roc["fpr"][0] == 0 and roc["tpr"][-1] == 1 and np.all(np.diff(roc["fpr"]) >= 0)
    assert sum(curves["calibration"]["count"]) == len(y)


def test_expected_calibration_error_by_hand():
    y = np.array([0, 0, 1, 1, 1])
    p = np.array([0.05, 0.15, 0.15, 0.95, 0.85])
    # bins: [0,.1): p .05 y 0 → .05 ; [.1,.2): mean p .15, rate .5 → .35·2 ; [.8,.9): .15 ; [.9,1]: .05
    expected = (0.05 + 0.35 * 2 + 0.15 + 0.05) / 5
    assert expected_calibration_error(y, p) == pytest.approx(expected)
    assert expected_calibration_error(y, y.astype(float)) == 0
