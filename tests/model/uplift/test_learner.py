"""The learner recovers a planted effect; shrinkage leaves the prior exactly when nothing is learned."""

from __future__ import annotations

import numpy as np
import pytest

from predelinquency.model.uplift.dataset import UpliftSet
from predelinquency.model.uplift.learner import fit_shifts, fit_uplift, shrinkage_weight
from predelinquency.model.uplift.model import prior_model
from predelinquency.settings import Settings

ACTION = "agent_call"


def planted(n: int, seed: int = 1) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(X, y, offset, contacted, true shift): random treatment; the contact cuts the miss log-odds by 1.5 where
    feature 0 is positive and not at all elsewhere; feature 1 drives risk beyond the offset; 2-4 are noise."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 5))
    offset = rng.normal(-1.0, 0.7, n)
    contacted = rng.random(n) < 0.5
    tau = np.where(X[:, 0] > 0, 1.5, 0.0)
    logit = offset + 0.5 * X[:, 1] - tau * contacted
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(np.int64)
    return X, y, offset, contacted, tau


def test_recovers_a_planted_effect() -> None:
    X, y, offset, contacted, tau = planted(8000)
    action = np.full(len(y), ACTION, dtype=object)
    shift = fit_shifts(X, y, offset, contacted, action, [ACTION], min_outcomes=100)[ACTION].shift(X)
    affected = tau > 0
    # the affected group is ranked above the rest ...
    order = np.argsort(shift)
    ranks = np.empty(len(shift))
    ranks[order] = np.arange(len(shift))
    auc = (ranks[affected].mean() - (affected.sum() - 1) / 2) / (~affected).sum()
    assert auc > 0.85
    # ... and the shift is close to the truth in both groups (regularisation pulls it toward the average)
    assert shift[affected].mean() == pytest.approx(1.5, abs=0.45)
    assert shift[~affected].mean() == pytest.approx(0.0, abs=0.3)


def test_too_few_outcomes_learn_nothing() -> None:
    X, y, offset, contacted, _ = planted(400)
    action = np.full(len(y), ACTION, dtype=object)
    assert fit_shifts(X, y, offset, contacted, action, [ACTION], min_outcomes=int(contacted.sum()) + 1) == {}
    assert fit_shifts(X, y, offset, np.ones(len(y), bool), action, [ACTION], min_outcomes=1) == {}  # no held out


def _set(n: int, seed: int = 2) -> UpliftSet:
    X, y, offset, contacted, _ = planted(n, seed)
    pd = 1 / (1 + np.exp(-offset))
    days = np.full(n, np.datetime64("2026-11-02"))
    return UpliftSet(X, [f"f{i}" for i in range(5)], y, np.full(n, ACTION, dtype=object), contacted, pd, days,
                     np.arange(n, dtype=np.int64), days)


def test_no_outcomes_is_exactly_the_prior() -> None:
    settings = Settings()
    data = _set(300)
    settings.uplift = settings.uplift.model_copy(update={"min_outcomes": 10_000})
    model = fit_uplift(data, settings)
    assert not model.learned
    np.testing.assert_array_equal(model.p_after(data.pd, data.X), prior_model(settings).p_after(data.pd, None))


def test_few_outcomes_lie_between_prior_and_learned() -> None:
    settings = Settings()
    settings.uplift = settings.uplift.model_copy(update={"min_outcomes": 50, "prior_strength": 400})
    data = _set(600)
    model = fit_uplift(data, settings)
    effect = model.effects[ACTION]
    n_c, n_h = int(data.contacted.sum()), int((~data.contacted).sum())
    assert effect.weight == pytest.approx(shrinkage_weight(n_c, n_h, 400)[0])
    assert 0 < effect.weight < 0.5
    j = model.actions.index(ACTION)
    blended = model.p_after(data.pd, data.X)[:, j]
    prior = (1 - effect.prior_rate) * data.pd
    logit = np.log(data.pd / (1 - data.pd))
    learned = 1 / (1 + np.exp(-(logit - effect.learned.shift(data.X))))
    # between the prior and the learned estimate, at the weight's distance (never above the PD)
    expected = np.minimum(effect.weight * learned + (1 - effect.weight) * prior, data.pd)
    np.testing.assert_allclose(blended, expected)
    lo, hi = np.minimum(prior, learned), np.maximum(prior, learned)
    assert np.all((blended >= lo - 1e-12) & (blended <= hi + 1e-12))
    # the other actions, never contacted here, stay exactly the prior
    for k, a in enumerate(model.actions):
        if a != ACTION:
            np.testing.assert_array_equal(model.p_after(data.pd, data.X)[:, k],
                                          (1 - model.effects[a].prior_rate) * data.pd)


def test_shrinkage_weight() -> None:
    assert shrinkage_weight(0, 100, 400) == (0.0, 0.0)
    w, n_eff = shrinkage_weight(400, 400, 400)
    assert n_eff == pytest.approx(200) and w == pytest.approx(1 / 3)
    assert shrinkage_weight(10**6, 10**6, 400)[0] > 0.99
