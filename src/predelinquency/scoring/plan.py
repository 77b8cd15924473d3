"""Today's contact plan with its randomised control group, built by the nightly for the business date.

The plan's population is the top of the work queue among customers who may be contacted today (not snoozed,
no open intervention, outside the contact cool-down, under the contact policy's most contacts in 30 days, not
already in either arm of an earlier plan whose outcome window is still open). A share of that population
(`operations.holdout_share`, or a manager's override) is held out instead of contacted: drawn reproducibly at
random within each stratum of recommended action and tier, so the contacted and the held out are comparable
and the difference between their miss rates is the effect of contacting. The plan's capacity counts only the
contacted.
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
from predelinquency.settings import Settings

CONTACT, HOLDOUT = "contact", "holdout"
# the work queue's order (the Action Center ranks the same way): most urgent, then the most worthwhile
QUEUE_ORDER = "rs.urgency, rs.expected_benefit DESC, rs.pd DESC, rs.customer_id"
_HOLDOUT_STREAM = 0x484F4C44  # "HOLD": the draws are keyed by this and the business date only


@dataclass(frozen=True)
class PlanSummary:
    """What the nightly planned for a business date."""

    business_date: date
    contacted: int
    held_out: int
    holdout_share: float
    policy_version: str

    def as_dict(self) -> dict[str, object]:
        return {"business_date": self.business_date.isoformat(), "contacted": self.contacted,
                "held_out": self.held_out, "holdout_share": self.holdout_share, "policy_version": self.policy_version}


def holdout_share(conn: Connection, settings: Settings) -> float:
    """The share held out: a manager's override (operations_overrides) or the settings' default."""
    value = conn.execute(text("SELECT value FROM operations_overrides WHERE key = 'holdout_share'")).scalar()
    return float(value) if value is not None else settings.operations.holdout_share


def policy_version(settings: Settings) -> str:
    """Names the rules that chose the actions: the same settings give the same name."""
    rules = {a: c.model_dump() for a, c in sorted(settings.actions.items())}
    digest = hashlib.sha256(json.dumps(rules, sort_keys=True).encode()).hexdigest()[:10]
    return f"config-rates-{digest}"


def _candidates(conn: Connection, settings: Settings, as_of: date, version: str, limit: int) -> pl.DataFrame:
    """The ranked customers who may be planned today, best first, at most `limit`."""
    rows = conn.execute(text(f"""
        SELECT rs.customer_id, rs.recommended_action, rs.tier, rs.pd, rs.exposure, rs.expected_benefit
        FROM risk_scores rs
        WHERE rs.as_of = :d AND rs.model_version = :v AND rs.urgency <= 3 AND rs.recommended_action <> 'none'
          AND NOT EXISTS (SELECT 1 FROM customer_snoozes s WHERE s.customer_id = rs.customer_id AND s.until >= :d)
          AND NOT EXISTS (SELECT 1 FROM interventions i WHERE i.customer_id = rs.customer_id
                          AND (i.status IN ('open', 'in_progress')
                               OR (i.status <> 'cancelled' AND i.business_date > CAST(:d AS date) - :cool)))
          AND NOT EXISTS (SELECT 1 FROM contact_plan p WHERE p.customer_id = rs.customer_id
                          AND p.business_date < :d AND p.business_date > CAST(:d AS date) - :window)
          AND (:max_contacts = 0 OR (SELECT count(*) FROM interventions i WHERE i.customer_id = rs.customer_id
                                     AND i.status <> 'cancelled' AND i.business_date > CAST(:d AS date) - 30)
                                    < :max_contacts)
        ORDER BY {QUEUE_ORDER}
        LIMIT :n"""), {"d": as_of, "v": version, "cool": settings.operations.contact_cooldown_days,
                       "window": settings.operations.outcome_window_days, "n": limit,
                       "max_contacts": settings.operations.max_contacts_per_30_days}).all()
    schema = {"customer_id": pl.Int64, "recommended_action": pl.Utf8, "tier": pl.Utf8, "pd": pl.Float64,
              "exposure": pl.Float64, "expected_benefit": pl.Float64}
    return pl.DataFrame([tuple(r) for r in rows], schema=schema, orient="row")


def draw_holdout(strata: list[str], share: float, business_date: date) -> np.ndarray:
    """Which members of a ranked population are held out: within each stratum, a random systematic sample of
    `share` of its members (randomised rounding), reproducible from the business date alone."""
    held = np.zeros(len(strata), bool)
    if share <= 0 or not strata:
        return held
    rng = np.random.default_rng(np.random.SeedSequence([_HOLDOUT_STREAM, business_date.toordinal()]))
    members: dict[str, list[int]] = {}
    for i, s in enumerate(strata):
        members.setdefault(s, []).append(i)
    for s in sorted(members):
        idx = np.array(members[s])
        order = rng.permutation(len(idx))
        offset = rng.random()
        # position p is held out when the running count of share × position crosses an integer
        p = np.arange(len(idx))
        pick = np.floor((p + 1) * share + offset) > np.floor(p * share + offset)
        held[idx[order[pick]]] = True
    return held


def existing_plan(conn: Connection, as_of: date) -> PlanSummary | None:
    """The plan already made for business date `as_of`, or None."""
    row = conn.execute(text(
        "SELECT count(*) FILTER (WHERE arm = 'contact') AS contacted, count(*) FILTER (WHERE arm = 'holdout') AS held, "
        "min(policy_version) AS policy FROM contact_plan WHERE business_date = :d"), {"d": as_of}).one()
    if not row.contacted and not row.held:
        return None
    total = row.contacted + row.held
    return PlanSummary(as_of, int(row.contacted), int(row.held), round(row.held / total, 4), row.policy)


def build_plan(conn: Connection, settings: Settings, as_of: date, version: str, run_id: int | None) -> PlanSummary:
    """The contact plan of business date `as_of`: made once, by the day's first nightly; a re-run of the
    nightly keeps it (officers may already be working it, and re-drawing would move customers between arms)."""
    made = existing_plan(conn, as_of)
    if made is not None:
        return made
    capacity = settings.operations.daily_contact_capacity
    share = holdout_share(conn, settings)
    policy = policy_version(settings)
    if capacity <= 0:
        return PlanSummary(as_of, 0, 0, share, policy)
    pool = _candidates(conn, settings, as_of, version, math.ceil(capacity / (1 - share)) * 2 + 10)
    # grow the population until it holds `capacity` contacted customers (or the pool runs out)
    size = min(pool.height, math.ceil(capacity / (1 - share)))
    while True:
        top = pool.head(size)
        held = draw_holdout([f"{a}|{t}" for a, t in zip(top["recommended_action"], top["tier"], strict=True)],
                            share, as_of)
        contacted = size - int(held.sum())
        if contacted >= capacity or size >= pool.height:
            break
        size = min(pool.height, size + (capacity - contacted))
    if size == 0:
        return PlanSummary(as_of, 0, 0, share, policy)
    # randomised rounding may overshoot by one or two: the population ends at the capacity-th contacted
    last = int(np.flatnonzero(~held)[min(capacity, contacted) - 1]) + 1 if contacted else size
    top, held, size = top.head(last), held[:last], last
    contacted = size - int(held.sum())
    plan = top.with_columns(
        pl.lit(as_of).alias("business_date"),
        pl.Series("arm", np.where(held, HOLDOUT, CONTACT)),
        pl.int_range(1, size + 1, dtype=pl.Int32).alias("rank"),
        pl.lit(version).alias("model_version"), pl.lit(policy).alias("policy_version"),
        pl.lit(run_id, dtype=pl.Int64).alias("run_id"))
    copy_in(conn, "contact_plan", plan.select(
        "business_date", "customer_id", "arm", "rank", "recommended_action", "tier", "pd", "exposure",
        "expected_benefit", "model_version", "policy_version", "run_id"))
    return PlanSummary(as_of, contacted, int(held.sum()), share, policy)


def todays_contacts(conn: Connection, day: date) -> list[dict[str, Any]]:
    """The contact arm of business date `day`'s plan as officers work it, in plan order: rank (among the
    contacted only: gaps in the plan's own ranks would point at the held-out), customer_id,
    recommended_action, tier, pd, expected_benefit, and whether someone has contacted the customer today.
    The control group is never part of it."""
    rows = conn.execute(text(
        "SELECT row_number() OVER (ORDER BY p.rank) AS rank, p.customer_id, p.recommended_action, p.tier, p.pd, "
        "       p.expected_benefit, EXISTS (SELECT 1 FROM interventions i WHERE i.customer_id = p.customer_id "
        "           AND i.business_date = p.business_date AND i.status <> 'cancelled') AS intervened_today "
        f"FROM contact_plan p WHERE p.business_date = :d AND p.arm = '{CONTACT}' ORDER BY p.rank"),
        {"d": day}).mappings().all()
    return [dict(r) for r in rows]
