import itertools

import numpy as np
import pytest

from predelinquency.model.threshold import bayes_threshold, best_threshold, cost_by_cutoff, expected_cost
from predelinquency.settings import Costs

COSTS = Costs(missed_default=2000.0, intervention=60.0)


@pytest.mark.parametrize("seed", range(5))
def test_best_threshold_minimises_cost_by_brute_force(seed):
    rng = np.random.default_rng(seed)
    n = 300
    pd_ = np.round(rng.beta(1, 12, n), 3)  # rounded: plenty of ties
    y = (rng.random(n) < pd_).astype(int)
    t = best_threshold(y, pd_, COSTS)
    best = expected_cost(y, pd_, t, COSTS)
    candidates = np.r_[0.0, np.unique(pd_), np.linspace(0, 1, 1001), 1.01]
    brute = min(expected_cost(y, pd_, c, COSTS) for c in candidates)
    assert best == brute
    assert 0 <= t <= 1


def test_cost_by_cutoff_matches_direct_counting():
    rng = np.random.default_rng(9)
    pd_ = np.round(rng.random(200), 2)
    y = (rng.random(200) < pd_).astype(int)
    thresholds, costs = cost_by_cutoff(y, pd_, COSTS)
    assert thresholds[0] == np.inf and costs[0] == 2000.0 * y.sum()  # nobody: every default missed
    for t, c in itertools.islice(zip(thresholds[1:], costs[1:], strict=True), 0, None, 7):
        assert c == expected_cost(y, pd_, t, COSTS)


def test_intervening_on_nobody_when_interventions_cost_too_much():
    y = np.array([0, 0, 0, 1])
    pd_ = np.array([0.1, 0.2, 0.3, 0.2])
    t = best_threshold(y, pd_, Costs(missed_default=1.0, intervention=50.0))
    assert t > 0.3 and expected_cost(y, pd_, t, Costs(missed_default=1.0, intervention=50.0)) == 1.0


def test_bayes_threshold():
    assert bayes_threshold(COSTS) == pytest.approx(60 / 2060)
