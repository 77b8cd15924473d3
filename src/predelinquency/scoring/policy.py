"""Hard policy rules from config, applied after the model: each fired rule lifts the tier to its minimum."""

from __future__ import annotations

import operator
from collections.abc import Mapping

import numpy as np
import polars as pl

from predelinquency.domain.vocabulary import TIERS
from predelinquency.errors import PdeError
from predelinquency.settings import PolicyRule

_OPS = {">=": operator.ge, ">": operator.gt, "<=": operator.le, "<": operator.lt, "==": operator.eq}
TIER_RANK = {t: i for i, t in enumerate(TIERS)}


_SORTED_TIERS = np.array(sorted(TIERS), dtype=object)
_RANK_OF_SORTED = np.array([TIER_RANK[t] for t in _SORTED_TIERS], dtype=np.int8)


def tier_rank(tiers: np.ndarray) -> np.ndarray:
    """0 (Low) … 3 (Critical) for each tier name, -1 for anything else."""
    tiers = np.asarray(tiers, dtype=object)
    # a binary search among the four names: one vector operation at any size, no per-tier comparisons
    pos = np.minimum(np.searchsorted(_SORTED_TIERS, tiers), len(TIERS) - 1)
    return np.where(_SORTED_TIERS[pos] == tiers, _RANK_OF_SORTED[pos], -1).astype(np.int8)


def apply_policy(model_tier: np.ndarray, features: Mapping[str, np.ndarray] | pl.DataFrame, rules: list[PolicyRule]
                 ) -> tuple[np.ndarray, list[list[str]]]:
    """Final tiers (never below the model's) and, per customer, the names of the rules that fired.

    features: each feature's values per customer, by name (a frame or a mapping of arrays).
    """
    rank = tier_rank(model_tier)
    fired_masks: list[np.ndarray] = []
    names = features.columns if isinstance(features, pl.DataFrame) else features.keys()
    for rule in rules:
        if rule.feature not in names:
            raise PdeError(f"policy rule '{rule.name}' uses feature '{rule.feature}', which is not computed")
        values = np.asarray(features[rule.feature], dtype=np.float64)
        # a missing value never fires a rule: NaN comparisons are False
        mask = _OPS[rule.op](values, rule.value) & ~np.isnan(values)
        rank = np.where(mask, np.maximum(rank, TIER_RANK[rule.min_tier]), rank)
        fired_masks.append(mask)
    fired: list[list[str]] = [[] for _ in range(len(model_tier))]
    for rule, mask in zip(rules, fired_masks, strict=True):
        for i in np.flatnonzero(mask):  # only the customers it fired for, usually few
            fired[i].append(rule.name)
    return np.array(TIERS, dtype=object)[rank], fired
