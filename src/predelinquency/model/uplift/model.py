"""What each contact is expected to do for one customer: P(miss | contacted with the action) next to the PD.

An action's effect is a learned shift of the customer's miss log-odds (a function of their features), blended
with the action's configured success rate (the prior: a contact removes that share of the PD) by a weight that
grows with the outcomes the action was learned from. With no learned part the model is the prior alone, which
is exactly the configured rule the nightly used before any outcome was measured.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from predelinquency.settings import Settings

_EPS = 1e-6


class LogOddsShift(Protocol):
    """A fitted learner of one action: the fall in miss log-odds a contact brings, per customer."""

    def shift(self, X: np.ndarray) -> np.ndarray:
        """(n,) fall in log-odds (positive: the contact lowers the chance of missing)."""
        ...


@dataclass
class ActionEffect:
    """One action's effect: its prior, and the learned part with the weight it has earned."""

    prior_rate: float                    # the configured success rate: share of the PD a contact removes
    cost: float                          # currency per contact
    weight: float = 0.0                  # 0 = prior alone … 1 = learned alone
    learned: LogOddsShift | None = None
    outcomes: int = 0                    # contacted outcomes it was learned from
    effective_outcomes: float = 0.0      # 1 / (1/contacted + 1/held out): what the weight is based on


@dataclass
class UpliftModel:
    """The effects of every recommendable action, on the PD model's features."""

    effects: dict[str, ActionEffect]
    feature_names: list[str] = field(default_factory=list)   # the columns `X` holds, in order
    version: str | None = None           # None: the configured prior, never registered
    kind: str = "uplift"
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def actions(self) -> list[str]:
        return list(self.effects)

    @property
    def learned(self) -> bool:
        """Whether any action's estimate uses outcomes (otherwise the configured prior alone)."""
        return any(e.weight > 0 for e in self.effects.values())

    def p_after(self, pd: np.ndarray, X: np.ndarray | None) -> np.ndarray:
        """(n, actions) P(miss) if contacted with each action (self.actions order); X: (n, features) in
        feature_names order (may be None when no action is learned)."""
        pd = np.clip(np.asarray(pd, dtype=np.float64), 0.0, 1.0)
        out = np.empty((len(pd), len(self.effects)))
        logit = np.log(np.clip(pd, _EPS, 1 - _EPS) / (1 - np.clip(pd, _EPS, 1 - _EPS)))
        for j, effect in enumerate(self.effects.values()):
            prior = (1.0 - effect.prior_rate) * pd
            if effect.learned is None or effect.weight <= 0:
                out[:, j] = prior
                continue
            if X is None:
                raise ValueError("this uplift model learned from features: pass them")
            learned = 1.0 / (1.0 + np.exp(-(logit - effect.learned.shift(X))))
            out[:, j] = effect.weight * learned + (1.0 - effect.weight) * prior
        return np.minimum(out, pd[:, None])  # a contact never raises the chance of missing

    def uplift(self, pd: np.ndarray, X: np.ndarray | None) -> np.ndarray:
        """(n, actions) expected fall in P(miss) from each action: pd - p_after."""
        return np.asarray(pd, dtype=np.float64)[:, None] - self.p_after(pd, X)

    def costs(self) -> np.ndarray:
        """(actions,) cost per contact, in self.actions order."""
        return np.array([e.cost for e in self.effects.values()])


def prior_model(settings: Settings) -> UpliftModel:
    """The configured success rates alone: what the engine believes before any outcome is measured."""
    return UpliftModel({a: ActionEffect(c.success_rate, c.cost) for a, c in settings.actions.items()})
