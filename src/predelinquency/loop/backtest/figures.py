"""What each policy's contacts would have done in the no-contact world: realised figures (under the world's
draws) and expected ones (from the generator's probabilities: less noisy), the engine's ratios, its lead time.

A unit is a customer's first instalment due in the outcome window after a plan day (the outcome the product
settles). A miss is a (customer, due date) the no-contact world misses, counted once however many plan days
look at it; a policy plans a customer at most once per window, so its contacts prevent distinct misses.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from predelinquency.loop.backtest.policies import Plan
from predelinquency.loop.backtest.world import World


def _events(world: World) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(customer position, due epoch day, missed, P(miss)) of every distinct instalment the plan days' units
    look at (the same due date has the same outcome and probability whichever plan day looks at it)."""
    t, c = np.nonzero(world.has_unit)
    key = c.astype(np.int64) * 1_000_000 + world.due[t, c]
    _, first = np.unique(key, return_index=True)
    t, c = t[first], c[first]
    return c, world.due[t, c].astype(np.int64), world.missed_none[t, c], world.p_none[t, c]


def no_contact_misses(world: World) -> tuple[int, float]:
    """(misses, expected misses) of the no-contact world."""
    _, _, missed, p = _events(world)
    return int(missed.sum()), float(p.sum())


def policy_figures(world: World, plan: Plan, baseline: tuple[int, float]) -> dict[str, Any]:
    """Contacts, misses, prevented defaults and loss, cost, net benefit, per 100 contacts, and the expected ones."""
    t, c, a = plan.day, plan.cust, plan.action
    unit = world.has_unit[t, c]
    prevented = unit & world.missed_none[t, c] & ~world.missed_action[t, c, a]
    fall = np.where(unit, world.p_none[t, c] - world.p_action[t, c, a], 0.0)
    value = world.value[c]
    cost = float(world.costs[a].sum())
    loss, expected_loss = float((prevented * value).sum()), float((fall * value).sum())
    contacts, n_prevented = len(c), int(prevented.sum())
    return {
        "contacts": contacts,
        "missed": baseline[0] - n_prevented,
        "prevented_defaults": n_prevented,
        "prevented_loss": round(loss, 2),
        "contact_cost": round(cost, 2),
        "net_benefit": round(loss - cost, 2),
        "prevented_per_100_contacts": round(100 * n_prevented / contacts, 2) if contacts else None,
        "expected_missed": round(baseline[1] - float(fall.sum()), 2),
        "expected_prevented_defaults": round(float(fall.sum()), 2),
        "expected_prevented_loss": round(expected_loss, 2),
        "expected_net_benefit": round(expected_loss - cost, 2),
        "actions": {name: int((a == i).sum()) for i, name in enumerate(world.actions)},
    }


def ratios(engine: dict[str, Any], other: dict[str, Any], name: str) -> dict[str, Any]:
    """The engine's net benefit (realised and expected) over another policy's; None, with the reason, when the
    other's is not positive (the gain, engine minus other, says how far apart they are either way)."""
    out: dict[str, Any] = {}
    reasons = []
    for key in ("net_benefit", "expected_net_benefit"):
        den = other[key]
        out[key] = round(engine[key] / den, 3) if den > 0 else None
        out[f"{key}_gain"] = round(engine[key] - den, 2)
        if den <= 0:
            reasons.append(f"{name}'s {key.replace('_', ' ')} is {den:,.2f}, not positive")
    out["reason"] = "; ".join(reasons) or None
    return out


def lead_time(world: World, engine: Plan) -> dict[str, Any]:
    """For the no-contact world's misses: days between the engine first planning the customer (within the
    outcome window before the due date) and the due date; median, mean and the share planned ahead."""
    cust, due, missed, _ = _events(world)
    cust, due = cust[missed], due[missed]
    d = world.days
    keys = np.sort(engine.cust * d + engine.day)
    lo = np.clip(due - world.window - world.epoch0, 0, d)        # first plan day whose window holds the due date
    hi = np.clip(due - 1 - world.epoch0, -1, d - 1)              # the last one: the day before it
    at = np.searchsorted(keys, cust * d + lo)
    found = (at < len(keys)) & (lo <= hi)
    found[found] = keys[at[found]] <= cust[found] * d + hi[found]
    days = due[found] - (world.epoch0 + keys[at[found]] - cust[found] * d)
    return {"misses": len(due), "planned_ahead": int(found.sum()),
            "share_planned_ahead": round(float(found.mean()), 4) if len(due) else None,
            "median_days": float(np.median(days)) if len(days) else None,
            "mean_days": round(float(days.mean()), 2) if len(days) else None}
