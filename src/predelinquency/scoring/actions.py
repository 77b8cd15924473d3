"""Recommended action by expected net benefit, expected loss, and the urgency tier of the work queue."""

from __future__ import annotations

import numpy as np

from predelinquency.scoring.policy import tier_rank
from predelinquency.settings import ActionCost

NO_ACTION = "none"
# urgency 1: expected to miss within days; 2: rising fast; 3: high and stable; 4: no action needed
RISING_PD_JUMP = 0.05


def expected_loss(pd: np.ndarray, exposure: np.ndarray, lgd: float) -> np.ndarray:
    """PD × exposure × LGD, in currency."""
    return pd * exposure * lgd


def recommend_actions(el: np.ndarray, actions: dict[str, ActionCost]) -> tuple[np.ndarray, np.ndarray]:
    """Best action per customer and its expected net benefit (avoided loss × success rate − cost).

    'none' when no action has a positive expected net benefit: an intervention that costs more than the
    loss it is expected to avoid is not recommended, however high the PD.
    """
    if not actions:
        return np.full(el.shape, NO_ACTION, dtype=object), np.zeros_like(el)
    names = list(actions)
    benefit = np.stack([el * actions[a].success_rate - actions[a].cost for a in names], axis=1)
    best = benefit.argmax(axis=1)
    best_benefit = benefit[np.arange(len(el)), best]
    chosen = np.array(names, dtype=object)[best]
    chosen[best_benefit <= 0] = NO_ACTION
    return chosen, np.where(best_benefit > 0, best_benefit, 0.0)


def urgency(tier: np.ndarray, pd: np.ndarray, prev_pd: np.ndarray, prev_tier: np.ndarray,
            due_soon: np.ndarray, action: np.ndarray) -> np.ndarray:
    """Work-queue urgency per customer: 1 act within days … 3 high and stable, 4 nothing to do.

    1: Critical, or High with an instalment due within days (the miss would be imminent).
    2: rising fast — the PD rose by RISING_PD_JUMP or more, or the tier rose, since the last run.
    3: High or Critical otherwise (high and stable).
    """
    rank = tier_rank(tier)
    prev_rank = np.where(prev_tier == None, -1, tier_rank(prev_tier.astype(str)))  # noqa: E711 (object array)
    rising = (~np.isnan(prev_pd) & (pd - np.nan_to_num(prev_pd) >= RISING_PD_JUMP)) | (
        (prev_rank >= 0) & (rank > prev_rank) & (rank >= 1))
    u = np.full(len(pd), 4, dtype=np.int16)
    u[rank >= 2] = 3
    u[rising & (rank >= 1)] = 2
    u[(rank == 3) | ((rank == 2) & due_soon)] = 1
    # the queue holds customers somebody should act on; without a worthwhile action only Critical stays
    u[(action == NO_ACTION) & (rank < 3)] = 4
    return u
