"""Why this action, in plain words: what it is expected to do for the customer, what that is worth against its
cost, and where the estimate comes from (outcomes learned from, or the configured rate)."""

from __future__ import annotations

from collections.abc import Mapping

from predelinquency.model.uplift.model import UpliftModel
from predelinquency.scoring.actions import NO_ACTION

CURRENCY = "€"  # the dashboard's currency (dashboard/ui.CURRENCY, report/xlsx.CURRENCY)
ACTION_WORDS = {"soft_reminder": "A reminder", "agent_call": "A call from an agent",
                "restructuring_offer": "A restructuring offer", "payment_holiday": "A payment holiday",
                "financial_counselling": "Financial counselling"}
NOTHING_WORTH_IT = "No contact is expected to prevent more than it costs."
EXPLORED = "Chosen at random to learn what works."
PRIOR = "the configured rate: no outcomes yet"


def action_words(action: str) -> str:
    """The action as the subject of a sentence ("A reminder")."""
    return ACTION_WORDS.get(action) or "A " + action.replace("_", " ")


def money(amount: float) -> str:
    """€40, €1,240, €2.50: whole amounts without cents."""
    cents = abs(amount - round(amount)) >= 0.005 and abs(amount) < 100
    return f"{'-' if amount < 0 else ''}{CURRENCY}{abs(amount):,.{2 if cents else 0}f}"


def percents(before: float, after: float) -> tuple[str, str]:
    """The two chances as "14 %" and "9 %"; a decimal more when whole percents would not show the fall."""
    for decimals in (0, 1, 2):
        a, b = f"{before * 100:.{decimals}f} %", f"{after * 100:.{decimals}f} %"
        if a != b:
            return a, b
    return a, b


def estimate_sources(uplift: UpliftModel) -> dict[str, str]:
    """Where each action's estimate comes from, in words: the outcomes it was learned from, or the prior."""
    return {a: (_learned(e.outcomes) if e.weight > 0 and e.learned is not None else PRIOR)
            for a, e in uplift.effects.items()}


def stored_sources(metrics: Mapping) -> dict[str, str]:
    """estimate_sources of a registered uplift version from its stored figures (uplift_versions.metrics), for plan
    rows drawn under a version that is no longer the champion."""
    return {a: (_learned(f.get("outcomes") or 0) if (f.get("weight") or 0) > 0 else PRIOR)
            for a, f in (metrics.get("actions") or {}).items()}


def _learned(outcomes: int) -> str:
    return f"learned from {outcomes:,} outcomes"


def why(action: str, pd: float, uplift: float | None, worth: float, cost: float, source: str,
        explored: bool = False) -> str | None:
    """Two sentences (three when explored) on why this action: worth is the loss it is expected to prevent. None
    for an action without an expected effect (a row written before effects were stored)."""
    if action == NO_ACTION:
        return NOTHING_WORTH_IT
    if uplift is None:
        return None
    before, after = percents(pd, pd - uplift)
    text = (f"{action_words(action)} is expected to lower this customer's chance of missing from {before} to "
            f"{after}, worth {money(worth)} against a {money(cost)} cost. Estimate: {source}.")
    return f"{text} {EXPLORED}" if explored else text


def why_rows(rows: list[Mapping], sources: Mapping[str, str], lgd: float) -> list[str | None]:
    """why() of rows carrying recommended_action, pd, uplift, exposure, action cost (action_cost) and, for plan
    rows, assignment; an action missing from `sources` (a changed configuration) reads as the prior."""
    return [why(r["recommended_action"], r["pd"], r["uplift"], (r["uplift"] or 0.0) * r["exposure"] * lgd,
                r["action_cost"] or 0.0, sources.get(r["recommended_action"], PRIOR),
                r.get("assignment") == "explore") for r in rows]
