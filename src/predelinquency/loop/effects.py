"""What contacts really prevent: contacted against held-out miss rates over settled outcome windows.

The unit is a contact-plan row (scoring/plan.py): a customer the plan would contact on a business date, assigned
at random to be contacted or held out. Its outcome is settled from the payments that follow (scoring/settle.py):
the next instalment due in the outcome window paid, late or missed. The effect is the difference in miss rates
(held out minus contacted: positive means contacts prevent misses), by intention to treat — customers are
compared in the arm they were drawn into, so officers' choices cannot bias it — with a 95 % Newcombe interval
(hybrid Wilson score), which stays honest with few outcomes and rates near zero. Released customers (a manager
contacted them from the holdout) leave the measurement; so do windows with no instalment due.

On the synthetic bank the generator's potential outcomes for the same customers (simulated_outcomes) give the
true uplift beside the measured one, as true_pd does for the PD model.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import Connection, text

from predelinquency.db.calendar import business_date
from predelinquency.settings import Settings

Z95 = 1.959963984540054
# an interval wider than ± this (in miss-rate points) says nothing a manager can act on
USEFUL_HALF_WIDTH = 0.03
MIN_PER_ARM = 20


@dataclass
class Arm:
    """Settled units of one arm: how many, how many missed, and (contacted arm) their loss at stake and cost."""

    n: int = 0
    missed: int = 0
    at_stake: float = 0.0   # sum of exposure × LGD
    cost: float = 0.0

    @property
    def rate(self) -> float | None:
        return self.missed / self.n if self.n else None


def wilson(k: int, n: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval of a proportion k/n."""
    if n == 0:
        return 0.0, 1.0
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def newcombe(k1: int, n1: int, k2: int, n2: int, z: float = Z95) -> tuple[float, float]:
    """95 % interval of p1 - p2 (Newcombe's hybrid score method 10)."""
    p1, p2 = k1 / n1, k2 / n2
    l1, u1 = wilson(k1, n1, z)
    l2, u2 = wilson(k2, n2, z)
    d = p1 - p2
    return (d - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2),
            d + math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2))


def outcomes_needed(holdout: Arm, contacted: Arm, half_width: float = USEFUL_HALF_WIDTH) -> int:
    """More settled outcomes (both arms, in today's proportions) until the interval is about ± half_width."""
    total = holdout.n + contacted.n
    share = holdout.n / total if total and holdout.n and contacted.n else 0.1

    def rate(arm: Arm) -> float:  # observed, kept off 0 and 1 where a handful of outcomes says little
        return min(max(arm.rate if arm.rate is not None else 0.05, 0.02), 0.98)

    p_h, p_c = rate(holdout), rate(contacted)
    # Var(diff) = p_h(1-p_h) / (N s) + p_c(1-p_c) / (N (1-s)), solved for N
    need = math.ceil(Z95 ** 2 * (p_h * (1 - p_h) / share + p_c * (1 - p_c) / (1 - share)) / half_width ** 2)
    return max(0, need - total)


def summarise(contacted: Arm, holdout: Arm, truth: dict[str, float] | None = None) -> dict[str, Any]:
    """The measured figures of one group of units (see the module docstring)."""
    out: dict[str, Any] = {
        "contacted": contacted.n, "holdout": holdout.n,
        "missed_contacted": contacted.missed, "missed_holdout": holdout.missed,
        "miss_rate_contacted": contacted.rate, "miss_rate_holdout": holdout.rate,
        "uplift": None, "ci_low": None, "ci_high": None, "prevented_defaults": None,
        "prevented_defaults_ci": None, "prevented_loss": None, "prevented_loss_ci": None,
        "contact_cost": round(contacted.cost, 2), "roi": None, "enough_data": False,
        "outcomes_needed": outcomes_needed(holdout, contacted),
    }
    if contacted.n and holdout.n:
        uplift = holdout.rate - contacted.rate
        lo, hi = newcombe(holdout.missed, holdout.n, contacted.missed, contacted.n)
        # prevented loss: the uplift applied to what was at stake among the contacted
        stake_per = contacted.at_stake / contacted.n
        loss = uplift * contacted.n * stake_per
        out.update({
            "uplift": uplift, "ci_low": lo, "ci_high": hi,
            "prevented_defaults": uplift * contacted.n,
            "prevented_defaults_ci": [lo * contacted.n, hi * contacted.n],
            "prevented_loss": loss,
            "prevented_loss_ci": [lo * contacted.at_stake, hi * contacted.at_stake],
            "roi": (loss - contacted.cost) / contacted.cost if contacted.cost > 0 else None,
            "enough_data": (hi - lo) / 2 <= USEFUL_HALF_WIDTH and min(contacted.n, holdout.n) >= MIN_PER_ARM,
        })
    if truth is not None:
        out.update(truth)
    return out


_UNITS = text("""
SELECT p.business_date, p.customer_id, p.arm, p.recommended_action, p.tier, p.exposure, p.payment_outcome,
       date_trunc('week', p.business_date)::date AS week,
       s.p_none, (s.p_action ->> p.recommended_action)::float8 AS p_action,
       s.missed_none, (s.missed_action ->> p.recommended_action)::boolean AS missed_action
FROM contact_plan p
LEFT JOIN simulated_outcomes s ON s.customer_id = p.customer_id AND s.eligible_on = p.business_date
WHERE p.settled_on IS NOT NULL AND p.released_at IS NULL AND p.payment_outcome <> 'no_instalment'
  AND (CAST(:since AS date) IS NULL OR p.business_date >= :since)
  AND (CAST(:until AS date) IS NULL OR p.business_date <= :until)
""")


class _Group:
    """Accumulates one group's arms and, where the generator's potential outcomes exist, its true uplift."""

    def __init__(self) -> None:
        self.arms = {"contact": Arm(), "holdout": Arm()}
        self.truth_n = 0
        self.true_diff = 0.0
        self.true_expected = 0.0

    def add(self, r: Any, stake: float, cost: float) -> None:
        arm = self.arms[r.arm]
        arm.n += 1
        arm.missed += r.payment_outcome == "missed"
        if r.arm == "contact":
            arm.at_stake += stake
            arm.cost += cost
        if r.p_none is not None and r.p_action is not None:
            self.truth_n += 1
            self.true_diff += float(r.missed_none) - float(r.missed_action)
            self.true_expected += r.p_none - r.p_action

    def result(self, with_truth: bool) -> dict[str, Any]:
        truth = None
        if with_truth:
            n = self.truth_n
            truth = {"true_uplift": self.true_diff / n if n else None,
                     "true_uplift_expected": self.true_expected / n if n else None, "true_units": n}
        return summarise(self.arms["contact"], self.arms["holdout"], truth)


def measure_effects(conn: Connection, settings: Settings, since: date | None = None,
                    until: date | None = None) -> dict[str, Any]:
    """{'business_date', 'overall', 'by_action', 'by_tier', 'by_action_tier', 'weekly', 'not_measured'}.

    Figures as in `summarise`; `true_uplift` (and `true_uplift_expected`) only on a synthetic bank.
    """
    lgd = settings.costs.lgd
    costs = {a: c.cost for a, c in settings.actions.items()}
    synthetic = conn.execute(text("SELECT EXISTS (SELECT 1 FROM simulation_bank)")).scalar_one()
    overall = _Group()
    groups: dict[str, dict[Any, _Group]] = {"action": {}, "tier": {}, "action_tier": {}, "week": {}}
    for r in conn.execute(_UNITS, {"since": since, "until": until}):
        stake = (r.exposure or 0.0) * lgd
        cost = costs.get(r.recommended_action, 0.0)
        overall.add(r, stake, cost)
        for name, key in (("action", r.recommended_action), ("tier", r.tier),
                          ("action_tier", (r.recommended_action, r.tier)), ("week", r.week)):
            groups[name].setdefault(key, _Group()).add(r, stake, cost)

    def listing(name: str, label: str | Iterable[str]) -> list[dict[str, Any]]:
        out = []
        for key in sorted(groups[name], key=str):
            names = (label,) if isinstance(label, str) else tuple(label)
            keys = (key,) if len(names) == 1 else key
            out.append({**dict(zip(names, keys, strict=True)), **groups[name][key].result(synthetic)})
        return out

    return {
        "business_date": business_date(conn),
        "overall": overall.result(synthetic),
        "by_action": listing("action", "action"),
        "by_tier": listing("tier", "tier"),
        "by_action_tier": listing("action_tier", ("action", "tier")),
        "weekly": listing("week", "week"),
        "not_measured": _not_measured(conn, since, until),
        "synthetic": bool(synthetic),
        "method": "intention to treat; uplift = holdout miss rate − contacted miss rate; 95 % Newcombe interval",
    }


def _not_measured(conn: Connection, since: date | None, until: date | None) -> dict[str, int]:
    """What the measurement leaves out, so nobody mistakes it for everything the team did."""
    row = conn.execute(text("""
        SELECT
          (SELECT count(*) FROM contact_plan p WHERE p.settled_on IS NULL
             AND (CAST(:since AS date) IS NULL OR p.business_date >= :since)
             AND (CAST(:until AS date) IS NULL OR p.business_date <= :until)) AS awaiting_outcome,
          (SELECT count(*) FROM contact_plan p WHERE p.released_at IS NOT NULL
             AND (CAST(:since AS date) IS NULL OR p.business_date >= :since)
             AND (CAST(:until AS date) IS NULL OR p.business_date <= :until)) AS released_from_holdout,
          (SELECT count(*) FROM contact_plan p WHERE p.payment_outcome = 'no_instalment'
             AND (CAST(:since AS date) IS NULL OR p.business_date >= :since)
             AND (CAST(:until AS date) IS NULL OR p.business_date <= :until)) AS no_instalment_due,
          (SELECT count(*) FROM interventions i WHERE i.status <> 'cancelled'
             AND NOT EXISTS (SELECT 1 FROM contact_plan p WHERE p.customer_id = i.customer_id
                             AND p.business_date = i.business_date AND p.arm = 'contact')
             AND (CAST(:since AS date) IS NULL OR i.business_date >= :since)
             AND (CAST(:until AS date) IS NULL OR i.business_date <= :until)) AS contacts_outside_plan
        """), {"since": since, "until": until}).one()
    return {k: int(v) for k, v in row._mapping.items()}
