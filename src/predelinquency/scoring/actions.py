"""Next-best action by expected net benefit, expected loss, and the urgency tier of the work queue."""

from __future__ import annotations

import numpy as np

from predelinquency.scoring.policy import tier_rank

NO_ACTION = "none"
# urgency 1: expected to miss within days; 2: rising fast; 3: high and stable; 4: no action needed
RISING_PD_JUMP = 0.05


def expected_loss(pd: np.ndarray, exposure: np.ndarray, lgd: float) -> np.ndarray:
    """PD × exposure × LGD, in currency."""
    return pd * exposure * lgd


def action_benefits(uplift: np.ndarray, exposure: np.ndarray, lgd: float, costs: np.ndarray) -> np.ndarray:
    """(n, actions) expected net benefit of each action: the loss it is expected to prevent (fall in P(miss) ×
    exposure × LGD) less its cost. The one formula the nightly, the plan and the policy backtest rank by."""
    return uplift * (np.asarray(exposure, dtype=np.float64) * lgd)[:, None] - np.asarray(costs)[None, :]


def best_actions(benefit: np.ndarray, names: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(action per customer, its expected net benefit, its column in `benefit`): the best positive action.

    'none' (benefit 0, column -1) when no action has a positive expected net benefit: an intervention that costs
    more than the loss it is expected to prevent is not recommended, however high the PD.
    """
    n = benefit.shape[0]
    if not names:
        return np.full(n, NO_ACTION, dtype=object), np.zeros(n), np.full(n, -1)
    best = benefit.argmax(axis=1)
    best_benefit = benefit[np.arange(n), best]
    worth = best_benefit > 0
    chosen = np.array(names, dtype=object)[best]
    chosen[~worth] = NO_ACTION
    return chosen, np.where(worth, best_benefit, 0.0), np.where(worth, best, -1)


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
