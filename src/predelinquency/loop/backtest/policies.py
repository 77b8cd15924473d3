"""The policies the backtest replays on the no-contact world, each a day loop over the same stored arrays.

Every policy contacts at most K customers a day and never one it planned within the last outcome window
(the plan's rule: it implies the cool-down and the most contacts in 30 days). No holdout, the same for every
policy. The engine's channel capacity and exploration share do not apply: the backtest measures its ranking.
- none: no contact.
- random: K customers at random (drawn from the bank's seed and the day), the configured action.
- pd_top_k: the K highest PDs, the configured action (the prior's best; the cheapest when none is worth it).
- el_top_k: the K highest expected losses (PD × exposure × LGD), the configured action.
- engine: the uplift model's best action, the K highest positive expected net benefits.
- oracle: the best action and the K highest positive TRUE expected net benefits, (P(miss) without a contact -
  P(miss) with it) × exposure × LGD - cost, from the generator's probabilities (never the realised draws).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from predelinquency.loop.backtest.world import World

POLICIES = ("none", "random", "pd_top_k", "el_top_k", "engine", "oracle")
RANDOM_KEY = 9_101      # spawn key of the random policy's draws: (RANDOM_KEY, epoch day)


@dataclass
class Plan:
    """A policy's contacts: plan day, customer position and action index, one entry each."""

    day: np.ndarray
    cust: np.ndarray
    action: np.ndarray


def _top(score: np.ndarray, candidates: np.ndarray, k: int) -> np.ndarray:
    """The k candidates with the highest score, ties to the lower position (so the result is reproducible)."""
    order = np.lexsort((candidates, -score[candidates]))
    return candidates[order[:k]]


def true_benefit(world: World, t: int) -> np.ndarray:
    """(n, actions) the oracle's expected net benefit on plan day t; a customer with nothing due in the window
    gains nothing from a contact."""
    fall = np.where(world.has_unit[t][:, None], world.p_none[t][:, None] - world.p_action[t], 0.0)
    return fall * world.value[:, None] - world.costs[None, :]


# each rule: (world, plan day, customers it may plan, K) -> (customers, actions)
Rule = Callable[[World, int, np.ndarray, int], tuple[np.ndarray, np.ndarray]]


def _random(world: World, t: int, free: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(np.random.SeedSequence(world.seed, spawn_key=(RANDOM_KEY, world.epoch0 + t)))
    pick = np.sort(rng.choice(free, size=min(k, len(free)), replace=False)) if len(free) else free
    return pick, world.configured[t][pick]


def _by_pd(world: World, t: int, free: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    pick = _top(world.pd[t], free, k)
    return pick, world.configured[t][pick]


def _by_expected_loss(world: World, t: int, free: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    pick = _top(world.pd[t] * world.value, free, k)
    return pick, world.configured[t][pick]


def _engine(world: World, t: int, free: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    benefit = world.engine_benefit[t]
    pick = _top(benefit, free[benefit[free] > 0], k)
    return pick, world.engine_action[t][pick]


def _oracle(world: World, t: int, free: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    benefit = true_benefit(world, t)
    best, value = benefit.argmax(axis=1), benefit.max(axis=1)
    pick = _top(value, free[value[free] > 0], k)
    return pick, best[pick]


def _none(world: World, t: int, free: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    return free[:0], free[:0]


RULES: dict[str, Rule] = {"none": _none, "random": _random, "pd_top_k": _by_pd, "el_top_k": _by_expected_loss,
                          "engine": _engine, "oracle": _oracle}


def plan_policy(policy: str, world: World, capacity: int) -> Plan:
    """The policy's contacts over the plan days: at most `capacity` a day, nobody planned within the last
    outcome window."""
    rule = RULES[policy]
    n = len(world.customer_ids)
    last = np.full(n, -world.window, dtype=np.int64)     # day last planned; everyone free on day 0
    days, custs, acts = [], [], []
    for t in range(world.days):
        free = np.flatnonzero(t - last >= world.window)
        cust, action = rule(world, t, free, capacity)
        last[cust] = t
        days.append(np.full(len(cust), t, np.int64))
        custs.append(cust.astype(np.int64))
        acts.append(np.asarray(action, np.int64))
    return Plan(np.concatenate(days), np.concatenate(custs), np.concatenate(acts))
