"""Exact TreeSHAP for CatBoost's oblivious trees from per-leaf tables.

In an oblivious tree every node of a level tests the same split, so a row's path is fully described by its
leaf index, and path-dependent TreeSHAP (what CatBoost's "Regular" ShapValues compute) depends on nothing
else. The SHAP vector of every leaf of every tree is therefore computed once, when the model is first
explained; explaining a row is then one comparison per split, one gather and one scatter-add. CatBoost itself
redoes that per-leaf precomputation on every call, whatever the number of rows, which dominated one-customer
scoring. The PD is the row sum of these values, so every table is checked against CatBoost when built.
"""

from __future__ import annotations

import json
import math
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from predelinquency.model.shap.blocks import by_blocks
from predelinquency.model.shap.check import checked, probe_rows

# leaves per tree grow as 2^depth and subsets of a tree's features as 2^distinct features: beyond this depth
# the one-off tables cost more than they save, and CatBoost's own computation is used
MAX_DEPTH = 10
# rows explained per block: bounds each (rows × trees × depth) temporary to tens of MB for hundreds of deep trees
_BLOCK_ROWS = 1024
# CatBoost and the tables both compute in float64: any larger difference is an error
TOLERANCE = 1e-6


def _leaf_table(levels: list[int], values: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, float, list[int]]:
    """(phi [leaves, players], expected value, the players' feature indexes) of one tree.

    levels[d] is the feature tested by split d, which decides bit d of the leaf index. CatBoost walks the
    splits from the last to the first (the last split is the root), and the cover ratios of path-dependent
    TreeSHAP depend on that order.
    """
    depth = len(levels)
    n_leaves = 1 << depth
    leaves = np.arange(n_leaves)
    # share of the parent's training weight that reaches the child on each leaf's path, per level
    ratio = np.ones((n_leaves, depth))
    order = list(range(depth))[::-1]
    parent_cover = np.full(n_leaves, weights.sum())
    for k, level in enumerate(order):
        mask = sum(1 << lv for lv in order[:k + 1])
        child = np.bincount(leaves & mask, weights=weights, minlength=n_leaves)[leaves & mask]
        with np.errstate(invalid="ignore", divide="ignore"):
            ratio[:, level] = np.where(parent_cover > 0, child / parent_cover, 0.0)
        parent_cover = child
    players = sorted(set(levels))
    m = len(players)
    player_of_level = np.array([players.index(f) for f in levels])
    subsets = np.arange(1 << m)
    in_subset = ((subsets[:, None] >> np.arange(m)) & 1).astype(bool)       # [subset, player]
    level_known = in_subset[:, player_of_level]                           # [subset, level]
    # f(x, S) = Σ over leaves agreeing with x on S's levels of value × Π over the other levels of ratio
    reach = np.repeat(values[None, :], len(subsets), axis=0)              # [subset, leaf]
    for level in range(depth):  # level by level: a [subset, leaf, level] temporary costs far more
        reach *= np.where(level_known[:, level, None], 1.0, ratio[None, :, level])
    known_mask = (level_known * (1 << np.arange(depth))).sum(axis=1)      # [subset]: bits fixed by S
    keys = leaves[None, :] & known_mask[:, None]                          # [subset, leaf]
    # per subset, the reach summed over the leaves sharing S's bits (bincount: far faster than np.add.at)
    grouped = np.bincount((subsets[:, None] * n_leaves + keys).ravel(), weights=reach.ravel(),
                          minlength=len(subsets) * n_leaves).reshape(len(subsets), n_leaves)
    f = grouped[subsets[None, :], leaves[:, None] & known_mask[None, :]]  # [x leaf, subset]
    # Shapley weights |S|!(m-|S|-1)!/m! for S without the player; phi_i = Σ_S w(S) (f(S ∪ i) - f(S))
    size = in_subset.sum(axis=1)
    w = np.array([math.factorial(s) * math.factorial(m - s - 1) / math.factorial(m) if s < m else 0.0
                  for s in range(m + 1)])
    coef = np.where(in_subset, w[np.maximum(size - 1, 0)][:, None], -w[size][:, None])
    return f @ coef, float(f[0, 0]), players


@dataclass(frozen=True)
class ObliviousShap:
    """Per-leaf SHAP tables of a CatBoost model whose splits are all on float features."""

    split_feature: np.ndarray    # int [trees, depth]; padded levels test feature 0 against +inf (always bit 0)
    split_border: np.ndarray     # float32 [trees, depth]
    nan_bit: np.ndarray          # uint8 [trees, depth]: the bit a missing value takes (CatBoost's nan treatment)
    phi: np.ndarray              # float64 [trees, 2^depth, players], already scaled
    player_feature: np.ndarray   # int [trees, players]; padded players add 0 to feature 0
    expected_value: float        # scaled sum of the trees' expected values plus the bias

    @classmethod
    def from_spec(cls, spec: dict[str, Any]) -> ObliviousShap | None:
        """The tables of a CatBoost model saved as JSON; None when it is not one this covers (categorical or deep)."""
        trees = spec.get("oblivious_trees")
        floats = spec.get("features_info", {}).get("float_features", [])
        if not trees or any(v for k, v in spec["features_info"].items() if k != "float_features"):
            return None
        if any(s["split_type"] != "FloatFeature" for t in trees for s in t["splits"]):
            return None
        depth = max(len(t["splits"]) for t in trees)
        if depth > MAX_DEPTH:
            return None
        flat = {f["feature_index"]: f["flat_feature_index"] for f in floats}
        nan_true = {f["feature_index"] for f in floats if f.get("nan_value_treatment") == "AsTrue"}
        scale, bias = spec["scale_and_bias"]
        n = len(trees)
        split_feature = np.zeros((n, depth), dtype=np.int64)
        split_border = np.full((n, depth), np.inf, dtype=np.float32)
        nan_bit = np.zeros((n, depth), dtype=np.uint8)
        phi = np.zeros((n, 1 << depth, depth))
        player_feature = np.zeros((n, depth), dtype=np.int64)
        expected = 0.0
        for i, tree in enumerate(trees):
            splits = tree["splits"]
            levels = [flat[s["float_feature_index"]] for s in splits]
            d = len(levels)
            split_feature[i, :d] = levels
            split_border[i, :d] = [s["border"] for s in splits]
            nan_bit[i, :d] = [s["float_feature_index"] in nan_true for s in splits]
            table, ev, players = _leaf_table(levels, np.asarray(tree["leaf_values"], dtype=np.float64),
                                             np.asarray(tree["leaf_weights"], dtype=np.float64))
            phi[i, :1 << d, :len(players)] = table
            player_feature[i, :len(players)] = players
            expected += ev
        return cls(split_feature, split_border, nan_bit, phi * scale, player_feature,
                   expected * scale + float(bias[0] if isinstance(bias, list) else bias))

    def leaves(self, X: np.ndarray) -> np.ndarray:
        """int [rows, trees]: the leaf each row reaches in each tree (CatBoost compares in float32)."""
        values = X[:, self.split_feature].astype(np.float32)                  # [rows, trees, depth]
        bits = np.where(np.isnan(values), self.nan_bit, values > self.split_border).astype(np.int64)
        return (bits << np.arange(self.split_feature.shape[1])).sum(axis=2)

    def contributions(self, X: np.ndarray) -> np.ndarray:
        """(n, features + 1) SHAP values in log-odds, the last column the expected value; rows sum to the margin."""
        return by_blocks(self._block, X, _BLOCK_ROWS)

    def _block(self, block: np.ndarray) -> np.ndarray:
        rows, p = block.shape
        out = np.empty((rows, p + 1))
        phi = self.phi[np.arange(len(self.phi))[None, :], self.leaves(block)]       # [rows, trees, players]
        slot = np.arange(rows)[:, None, None] * p + self.player_feature[None, :, :]
        out[:, :p] = np.bincount(slot.ravel(), weights=phi.ravel(), minlength=rows * p).reshape(rows, p)
        out[:, p] = self.expected_value
        return out


def from_catboost(model: Any) -> ObliviousShap | None:
    """The checked tables of a fitted CatBoostClassifier; None when they do not apply (categorical or deep trees).

    ShapMismatch when they differ from CatBoost's own ShapValues or raw prediction on probe rows.
    """
    import catboost

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "model.json"
        model.save_model(str(path), format="json")
        spec = json.loads(path.read_text())
    tables = ObliviousShap.from_spec(spec)
    if tables is None:
        return None
    borders = [(int(f), float(b)) for f, b in zip(tables.split_feature.ravel(), tables.split_border.ravel(),
                                                   strict=True) if np.isfinite(b)]
    X = probe_rows(len(model.feature_names_), borders)
    return checked(tables, f"CatBoost {catboost.__version__}",
                   lambda rows: model.get_feature_importance(catboost.Pool(rows), type="ShapValues"),
                   lambda rows: model.predict(catboost.Pool(rows), prediction_type="RawFormulaVal"),
                   X, TOLERANCE)
