"""Today's contact plan with its randomised control group, built by the nightly for the business date.

The plan's population is every customer who may be contacted today (not snoozed, no open intervention, outside
the contact cool-down, under the contact policy's most contacts in 30 days, not already in either arm of an
earlier plan whose outcome window is still open) with an action worth its cost, whatever their urgency: a 12 %
customer who forgets may be the best use of a contact. It is walked by expected net benefit, highest first
(scoring/allocate.py): each customer gets the best positive action with room in its channel, or for the
exploration share a random one, and an arm, held out by permuted blocks within each stratum of action and tier,
so the contacted and the held out are comparable and the difference between their miss rates is the effect of
contacting; the walk stops when the contacted fill the team's daily capacity (the held out take none).

Two orders: the plan's `rank` is this benefit order (todays_contacts, GET /plan); QUEUE_ORDER, urgency first, is
the Action Center's work queue, where officers also see customers outside the plan.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
import polars as pl
from sqlalchemy import Connection, text

from predelinquency.db.bulk import copy_in
from predelinquency.model.uplift.model import UpliftModel
from predelinquency.scoring.actions import action_benefits
from predelinquency.scoring.allocate import Allocation, Limits, allocate
from predelinquency.scoring.why import estimate_sources, stored_sources, why_rows
from predelinquency.settings import Settings

CONTACT, HOLDOUT = "contact", "holdout"
POLICY, EXPLORE = "policy", "explore"
# the Action Center's work queue: most urgent, then the most worthwhile (the plan itself is by benefit alone)
QUEUE_ORDER = "rs.urgency, rs.expected_benefit DESC, rs.pd DESC, rs.customer_id"
PLAN_ORDER = "rs.expected_benefit DESC, rs.customer_id"


@dataclass(frozen=True)
class PlanSummary:
    """What the nightly planned for a business date."""

    business_date: date
    contacted: int
    held_out: int
    holdout_share: float
    policy_version: str
    explored: int = 0

    def as_dict(self) -> dict[str, object]:
        return {"business_date": self.business_date.isoformat(), "contacted": self.contacted,
                "held_out": self.held_out, "holdout_share": self.holdout_share, "policy_version": self.policy_version,
                "explored": self.explored}


def holdout_share(conn: Connection, settings: Settings) -> float:
    """The share held out: a manager's override (operations_overrides) or the settings' default."""
    value = conn.execute(text("SELECT value FROM operations_overrides WHERE key = 'holdout_share'")).scalar()
    return float(value) if value is not None else settings.operations.holdout_share


def policy_version(settings: Settings, uplift: UpliftModel | None = None) -> str:
    """Names what chose the actions: the uplift version when it learned from outcomes, else a digest of the
    configured rates (the same settings give the same name)."""
    if uplift is not None and uplift.version and uplift.learned:
        return uplift.version
    rules = {a: c.model_dump() for a, c in sorted(settings.actions.items())}
    digest = hashlib.sha256(json.dumps(rules, sort_keys=True).encode()).hexdigest()[:10]
    return f"config-rates-{digest}"


def plan_limits(settings: Settings, share: float) -> Limits:
    """The day's limits from the settings: capacities, the holdout and exploration shares, each action's channel
    (its first allowed one)."""
    ops = settings.operations
    return Limits(ops.daily_contact_capacity, share, ops.exploration_share,
                  {a: chans[0] for a, chans in ops.action_channels.items()}, dict(ops.channel_capacity))


def _candidates(conn: Connection, settings: Settings, as_of: date, version: str, limit: int
                ) -> tuple[pl.DataFrame, list[dict[str, float]]]:
    """The customers who may be contacted today with an action worth its cost, best expected benefit first, and
    each one's expected fall in P(miss) per action."""
    rows = conn.execute(text(f"""
        SELECT rs.customer_id, rs.tier, rs.pd, rs.exposure, rs.action_uplift
        FROM risk_scores rs
        WHERE rs.as_of = :d AND rs.model_version = :v AND rs.recommended_action <> 'none'
          AND NOT EXISTS (SELECT 1 FROM customer_snoozes s WHERE s.customer_id = rs.customer_id AND s.until >= :d)
          AND NOT EXISTS (SELECT 1 FROM interventions i WHERE i.customer_id = rs.customer_id
                          AND (i.status IN ('open', 'in_progress')
                               OR (i.status <> 'cancelled' AND i.business_date > CAST(:d AS date) - :cool)))
          AND NOT EXISTS (SELECT 1 FROM contact_plan p WHERE p.customer_id = rs.customer_id
                          AND p.business_date < :d AND p.business_date > CAST(:d AS date) - :window)
          AND (:max_contacts = 0 OR (SELECT count(*) FROM interventions i WHERE i.customer_id = rs.customer_id
                                     AND i.status <> 'cancelled' AND i.business_date > CAST(:d AS date) - 30)
                                    < :max_contacts)
        ORDER BY {PLAN_ORDER}
        LIMIT :n"""), {"d": as_of, "v": version, "cool": settings.operations.contact_cooldown_days,
                       "window": settings.operations.outcome_window_days, "n": limit,
                       "max_contacts": settings.operations.max_contacts_per_30_days}).all()
    schema = {"customer_id": pl.Int64, "tier": pl.Utf8, "pd": pl.Float64, "exposure": pl.Float64}
    return (pl.DataFrame([tuple(r[:4]) for r in rows], schema=schema, orient="row"),
            [r.action_uplift or {} for r in rows])


def _walk(pool: pl.DataFrame, action_uplift: list[dict[str, float]], uplift: UpliftModel, limits: Limits,
          lgd: float, as_of: date) -> tuple[Allocation, np.ndarray, np.ndarray]:
    """(the allocation, each candidate's uplift per action, their net benefit per action)."""
    actions = uplift.actions
    # an action the scores do not price (a configuration changed since) is expected to prevent nothing
    up = np.array([[u.get(a, 0.0) for a in actions] for u in action_uplift],
                  dtype=np.float64).reshape(pool.height, len(actions))
    benefit = action_benefits(up, pool["exposure"].to_numpy(), lgd, uplift.costs())
    alloc = allocate(pool["customer_id"].to_numpy(), pool["tier"].to_numpy(), benefit, actions, limits, as_of)
    return alloc, up, benefit


def existing_plan(conn: Connection, as_of: date) -> PlanSummary | None:
    """The plan already made for business date `as_of`, or None."""
    row = conn.execute(text(
        "SELECT count(*) FILTER (WHERE arm = 'contact') AS contacted, count(*) FILTER (WHERE arm = 'holdout') AS held, "
        f"count(*) FILTER (WHERE assignment = '{EXPLORE}') AS explored, "
        "min(policy_version) AS policy FROM contact_plan WHERE business_date = :d"), {"d": as_of}).one()
    if not row.contacted and not row.held:
        return None
    total = row.contacted + row.held
    return PlanSummary(as_of, int(row.contacted), int(row.held), round(row.held / total, 4), row.policy,
                       int(row.explored))


def build_plan(conn: Connection, settings: Settings, as_of: date, version: str, run_id: int | None,
               uplift: UpliftModel) -> PlanSummary:
    """The contact plan of business date `as_of`: made once, by the day's first nightly; a re-run of the
    nightly keeps it (officers may already be working it, and re-drawing would move customers between arms)."""
    made = existing_plan(conn, as_of)
    if made is not None:
        return made
    share = holdout_share(conn, settings)
    limits = plan_limits(settings, share)
    policy = policy_version(settings, uplift)
    if limits.capacity <= 0:
        return PlanSummary(as_of, 0, 0, share, policy)
    # read the ranking in growing slices: the walk usually ends near capacity / (1 - share), but full channels
    # and exploration skip customers; a slice the walk exhausts without filling the capacity is read again larger
    limit = math.ceil(limits.capacity / (1 - share)) * 2 + 10
    while True:
        pool, action_uplift = _candidates(conn, settings, as_of, version, limit)
        alloc, up, benefit = _walk(pool, action_uplift, uplift, limits, settings.costs.lgd, as_of)
        if alloc.contacted >= limits.capacity or pool.height < limit:
            break
        limit *= 4
    if not len(alloc.index):
        return PlanSummary(as_of, 0, 0, share, policy)
    actions = np.array(uplift.actions, dtype=object)[alloc.action]
    costs = uplift.costs()[alloc.action]
    plan = pool[alloc.index.tolist()].with_columns(
        pl.lit(as_of).alias("business_date"),
        pl.Series("arm", np.where(alloc.held, HOLDOUT, CONTACT)),
        pl.int_range(1, len(alloc.index) + 1, dtype=pl.Int32).alias("rank"),
        pl.Series("recommended_action", actions.astype(str)),
        pl.Series("expected_benefit", benefit[alloc.index, alloc.action]),
        pl.Series("uplift", up[alloc.index, alloc.action]),
        pl.Series("action_cost", costs.astype(np.float64)),
        pl.Series("channel", [limits.channels[a] for a in actions]),
        pl.Series("assignment", np.where(alloc.explored, EXPLORE, POLICY)),
        pl.lit(uplift.version, dtype=pl.String).alias("uplift_version"),
        pl.lit(version).alias("model_version"), pl.lit(policy).alias("policy_version"),
        pl.lit(run_id, dtype=pl.Int64).alias("run_id"))
    copy_in(conn, "contact_plan", plan.select(
        "business_date", "customer_id", "arm", "rank", "recommended_action", "tier", "pd", "exposure",
        "expected_benefit", "model_version", "policy_version", "run_id", "uplift", "action_cost", "channel",
        "assignment", "uplift_version"))
    return PlanSummary(as_of, alloc.contacted, int(alloc.held.sum()), share, policy, int(alloc.explored.sum()))


def todays_contacts(conn: Connection, day: date, uplift: UpliftModel, lgd: float) -> list[dict[str, Any]]:
    """The contact arm of business date `day`'s plan as officers work it, in plan order: rank (among the
    contacted only: gaps in the plan's own ranks would point at the held-out), customer_id, recommended_action,
    channel, tier, pd, expected_benefit, uplift, action_cost, assignment, uplift_version, why (in plain words,
    the estimate's source from `uplift` when it made the plan), and whether someone has contacted the customer
    today. The control group is never part of it."""
    rows = conn.execute(text(
        "SELECT row_number() OVER (ORDER BY p.rank) AS rank, p.customer_id, p.recommended_action, p.channel, "
        "       p.tier, p.pd, p.exposure, p.expected_benefit, p.uplift, p.action_cost, p.assignment, "
        "       p.uplift_version, EXISTS (SELECT 1 FROM interventions i WHERE i.customer_id = p.customer_id "
        "           AND i.business_date = p.business_date AND i.status <> 'cancelled') AS intervened_today "
        f"FROM contact_plan p WHERE p.business_date = :d AND p.arm = '{CONTACT}' ORDER BY p.rank"),
        {"d": day}).mappings().all()
    out = [dict(r) for r in rows]
    # each row in the words of the uplift version its plan was drawn with: today's champion, the configured prior
    # (every action reads as the prior), or an earlier version's stored figures
    others = sorted({r["uplift_version"] for r in out} - {None, uplift.version})
    sources: dict[str | None, dict[str, str]] = {None: {}}
    if others:
        sources.update((v, stored_sources(m)) for v, m in conn.execute(text(
            "SELECT version, metrics FROM uplift_versions WHERE version = ANY(:v)"), {"v": others}).all())
    sources[uplift.version] = estimate_sources(uplift)
    for r in out:
        version = r["uplift_version"]  # a version no longer on record is named
        said = sources.get(version, {r["recommended_action"]: f"uplift model {version}"})
        r["why"] = why_rows([r], said, lgd)[0]
    return out
