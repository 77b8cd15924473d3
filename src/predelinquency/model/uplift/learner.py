"""The uplift learner: per action, a T-learner on top of the PD, shrunk toward the configured prior.

f0 is fitted on the held-out rows (every action: without a contact the action does not matter), f_a on the rows
contacted with action a, both as corrections of the plan's PD log-odds (the offset), so the learners spend their
few outcomes on how a contact shifts the odds, not on re-learning risk. f_a starts from f0 (its offset is
logit(pd) + f0(x)), so its trees learn the treated-minus-held-out difference itself and regularisation shrinks
the shift toward the action's average effect, not toward the difference of two independent noisy fits. The
shift of action a is f0(x) - f_a(x). Each part is an intercept plus a few small, heavily regularised LightGBM
trees: the data are a few hundred outcomes per action.

The shift is blended with the configured success rate by weight n_eff / (n_eff + uplift.prior_strength),
n_eff = 1 / (1/contacted + 1/held out): the effective size of a two-arm comparison.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from predelinquency.model.uplift.dataset import UpliftSet
from predelinquency.model.uplift.model import ActionEffect, UpliftModel, prior_model
from predelinquency.settings import Settings

# few leaves, large leaves, strong L2 and shrinkage: a few hundred noisy binary outcomes per action
TREE_PARAMS: dict[str, Any] = {
    "objective": "binary", "num_leaves": 4, "max_depth": 2, "learning_rate": 0.05, "lambda_l2": 10.0,
    "min_sum_hessian_in_leaf": 1.0, "feature_fraction": 0.8, "bagging_fraction": 0.8, "bagging_freq": 1,
    "max_bin": 63, "force_row_wise": True, "deterministic": True, "num_threads": 1, "verbose": -1,
}
ROUNDS = 60
MIN_LEAF_SHARE = 0.1   # each leaf holds at least this share of the rows (and at least MIN_LEAF rows)
MIN_LEAF = 20


def _intercept(y: np.ndarray, offset: np.ndarray, steps: int = 25) -> float:
    """The constant c maximising the likelihood of y under log-odds offset + c (Newton's method)."""
    c = 0.0
    for _ in range(steps):
        p = 1 / (1 + np.exp(-(offset + c)))
        hess = float((p * (1 - p)).sum())
        if hess <= 0:
            break
        step = float((y - p).sum()) / hess
        c = float(np.clip(c + step, -5.0, 5.0))
        if abs(step) < 1e-8:
            break
    return c


class OffsetBooster:
    """A correction of given log-odds: an intercept plus a few boosted trees (scikit-learn style: fit returns
    self, fitted parts end in _)."""

    def __init__(self, random_state: int = 0) -> None:
        self.random_state = random_state

    def fit(self, X: np.ndarray, y: np.ndarray, offset: np.ndarray) -> OffsetBooster:
        import lightgbm

        self.intercept_ = _intercept(y, offset)
        self.booster_ = None
        if len(np.unique(y)) < 2 or len(y) < 2 * MIN_LEAF:
            return self  # nothing for trees to split: the intercept alone
        params = {**TREE_PARAMS, "seed": self.random_state,
                  "min_data_in_leaf": max(MIN_LEAF, int(len(y) * MIN_LEAF_SHARE))}
        data = lightgbm.Dataset(X, label=y, init_score=offset + self.intercept_, free_raw_data=True)
        self.booster_ = lightgbm.train(params, data, num_boost_round=ROUNDS)
        return self

    def margin(self, X: np.ndarray) -> np.ndarray:
        """(n,) the correction of the log-odds (without the offset)."""
        out = np.full(len(X), self.intercept_)
        if self.booster_ is not None and len(X):
            out += self.booster_.predict(X, raw_score=True, num_threads=1)
        return out


class ActionShift:
    """The learned LogOddsShift of one action: f0(x) - f_a(x), with f_a fitted on top of f0."""

    def __init__(self, treated: OffsetBooster) -> None:
        self.treated = treated

    def shift(self, X: np.ndarray) -> np.ndarray:
        """(n,) fall in miss log-odds a contact with the action brings (positive: fewer misses)."""
        return -self.treated.margin(np.asarray(X, dtype=np.float64))


def fit_shifts(X: np.ndarray, y: np.ndarray, offset: np.ndarray, contacted: np.ndarray, action: np.ndarray,
               actions: list[str], min_outcomes: int, random_state: int = 0) -> dict[str, ActionShift]:
    """The learned shift of every action with at least min_outcomes contacted rows (and a held-out arm)."""
    held = ~contacted
    if held.sum() == 0:
        return {}
    control = OffsetBooster(random_state).fit(X[held], y[held], offset[held])
    shifts = {}
    for a in actions:
        rows = contacted & (action == a)
        if rows.sum() < min_outcomes:
            continue
        base = offset[rows] + control.margin(X[rows])
        shifts[a] = ActionShift(OffsetBooster(random_state).fit(X[rows], y[rows], base))
    return shifts


def shrinkage_weight(contacted: int, held_out: int, prior_strength: float) -> tuple[float, float]:
    """(weight of the learned estimate, effective outcomes) for an action with these outcomes."""
    if contacted <= 0 or held_out <= 0:
        return 0.0, 0.0
    n_eff = 1.0 / (1.0 / contacted + 1.0 / held_out)
    return n_eff / (n_eff + prior_strength), n_eff


def fit_uplift(data: UpliftSet, settings: Settings) -> UpliftModel:
    """The uplift model learned from these rows: each action with enough outcomes learned and shrunk toward its
    configured rate, the others (and everything when nothing is learned) exactly the prior."""
    model = prior_model(settings)
    model.feature_names = list(data.feature_names)
    u = settings.uplift
    shifts = fit_shifts(data.X, data.y, data.offset, data.contacted, data.action, model.actions, u.min_outcomes,
                        settings.training.random_seed)
    counts = data.counts()
    for a, effect in model.effects.items():
        effect.outcomes = counts.get(a, 0)
        if a not in shifts:
            continue
        weight, n_eff = shrinkage_weight(effect.outcomes, counts["held_out"], u.prior_strength)
        model.effects[a] = ActionEffect(effect.prior_rate, effect.cost, weight, shifts[a], effect.outcomes, n_eff)
    return model
