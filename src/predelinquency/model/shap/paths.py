"""Exact TreeSHAP for XGBoost's trees from per-leaf pattern tables (Fast TreeSHAP v2).

Path-dependent TreeSHAP sums, over the leaves of a tree, a term that depends on the row only through which of
the features on the leaf's path the row "agrees" with (goes the leaf's way at every split on that feature).
A leaf whose path holds k distinct features therefore has at most 2^k possible terms, and with the shallow trees
of the ensemble (depth 2–6) they are all computed once, when the model is first explained. Explaining rows is
then a comparison per split on each leaf's path, a gather and a scatter-add, with no DMatrix to build for one
customer and no per-row Python for a nightly block. Every table is checked against XGBoost when built.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from predelinquency.model.shap.blocks import by_blocks
from predelinquency.model.shap.check import checked, probe_rows

# a leaf's table has 2^(distinct path features) rows: beyond this, or beyond MAX_TABLE_BYTES for the whole
# model, the library's own computation is used
MAX_PLAYERS = 12
MAX_TABLE_BYTES = 64 << 20
# elements of each (rows × leaves × depth) temporary of a block of rows: bounds its memory however large the model
_BLOCK_ELEMENTS = 2_000_000
# XGBoost computes its SHAP values in float32, the tables in float64
TOLERANCE = 1e-4


@dataclass
class _Leaf:
    value: float
    cover: float
    path: list[tuple[dict[str, Any], bool, float]]  # (split node, goes left, cover share of the child)


def pattern_tables(z: np.ndarray, v: np.ndarray) -> np.ndarray:
    """phi [leaves, 2^k, k] for leaves of k players: z [leaves, k] zero fractions, v [leaves] leaf values.

    Pattern bit s is 1 when the row agrees with the leaf on player s. For that pattern o, Shapley's formula
    over the leaf's game f(S) = v · Π_{i∈S} o_i · Π_{i∉S} z_i gives
    phi_s = v (o_s - z_s) Σ_m w(m) [t^m] Π_{i≠s} (o_i t + z_i),  w(m) = m! (k-1-m)! / k!.
    """
    n, k = z.shape
    patterns = 1 << k
    out = np.zeros((n, patterns, k))
    if k == 0:
        return out
    o = ((np.arange(patterns)[:, None] >> np.arange(k)) & 1).astype(np.float64)       # [pattern, player]
    w = np.array([math.factorial(m) * math.factorial(k - 1 - m) / math.factorial(k) for m in range(k)])
    for s in range(k):
        coef = np.zeros((n, patterns, k))                                               # polynomial in t
        coef[:, :, 0] = 1.0
        for i in range(k):
            if i != s:
                shifted = np.zeros_like(coef)
                shifted[:, :, 1:] = coef[:, :, :-1]
                coef = coef * z[:, None, i, None] + shifted * o[None, :, i, None]
        out[:, :, s] = v[:, None] * (o[None, :, s] - z[:, None, s]) * (coef @ w)
    return out


@dataclass(frozen=True)
class PathShap:
    """Per-leaf pattern tables of one boosted model (all trees flattened into one list of leaves)."""

    feature: np.ndarray          # int [leaves, depth]: the feature of each split on the leaf's path (pad: 0)
    threshold: np.ndarray        # float32 [leaves, depth]
    default_left: np.ndarray     # bool [leaves, depth]: where a missing value goes
    goes_left: np.ndarray        # bool [leaves, depth]: the leaf's side of the split
    pad: np.ndarray              # bool [leaves, depth]: padding, always agrees
    bit: np.ndarray              # int32 [leaves, depth]: 1 << the player (distinct path feature) of each split
    full: np.ndarray             # int [leaves]: the all-agree pattern, 2^k - 1
    offset: np.ndarray           # int [leaves]: the row of the leaf's pattern 0 in table
    table: np.ndarray            # float64 [Σ 2^k, players]
    player_feature: np.ndarray   # int [leaves, players] (pad: feature 0 with phi 0)
    expected_value: float        # the bias column: base margin plus the trees' expected values

    @classmethod
    def build(cls, trees: list[dict[str, Any]], bias: float) -> PathShap | None:
        """Tables of XGBoost's JSON tree dumps; None when a leaf has more than MAX_PLAYERS distinct path features
        or the tables would exceed MAX_TABLE_BYTES."""
        leaves: list[_Leaf] = []
        expected = bias
        for tree in trees:
            own = _leaves(tree)
            root = sum(leaf.cover for leaf in own)
            expected += sum(leaf.value * leaf.cover for leaf in own) / root if root > 0 else 0.0
            leaves += own
        depth = max([len(leaf.path) for leaf in leaves] + [1])
        players_of = [list(dict.fromkeys(_feature(node) for node, _, _ in leaf.path)) for leaf in leaves]
        players = max([len(p) for p in players_of] + [1])
        k_of = np.array([len(p) for p in players_of], dtype=np.int64)
        if players > MAX_PLAYERS or int((1 << k_of).sum()) * players * 8 > MAX_TABLE_BYTES:
            return None
        n = len(leaves)
        feature = np.zeros((n, depth), dtype=np.int64)
        threshold = np.zeros((n, depth), dtype=np.float32)  # XGBoost compares float32 values with float32 thresholds
        default_left = np.zeros((n, depth), dtype=bool)
        goes_left = np.zeros((n, depth), dtype=bool)
        slot = np.zeros((n, depth), dtype=np.int64)
        pad = np.ones((n, depth), dtype=bool)
        player_feature = np.zeros((n, players), dtype=np.int64)
        zero = np.ones((n, players))
        for i, (leaf, own_players) in enumerate(zip(leaves, players_of, strict=True)):
            player_feature[i, :len(own_players)] = own_players
            for d, (node, left, share) in enumerate(leaf.path):
                f = _feature(node)
                s = own_players.index(f)
                feature[i, d] = f
                threshold[i, d] = float(node["split_condition"])
                default_left[i, d] = node["missing"] == node["yes"]
                goes_left[i, d] = left
                slot[i, d] = s
                pad[i, d] = False
                zero[i, s] *= share
        values = np.array([leaf.value for leaf in leaves])
        offset = np.concatenate(([0], np.cumsum(1 << k_of)[:-1])).astype(np.int64)
        table = np.zeros((int((1 << k_of).sum()), players))
        for k in np.unique(k_of):
            if k == 0:  # a tree that is a single leaf: a constant, all of it in the expected value, no player
                continue
            group = np.flatnonzero(k_of == k)
            phi = pattern_tables(zero[group, :k], values[group])                    # [leaves, 2^k, k]
            rows = offset[group][:, None] + np.arange(1 << k)[None, :]
            table[rows.ravel(), :k] = phi.reshape(-1, k)
        return cls(feature=feature, threshold=threshold, default_left=default_left, goes_left=goes_left, pad=pad,
                   bit=(1 << slot).astype(np.int32), full=((1 << k_of) - 1).astype(np.int32), offset=offset,
                   table=table, player_feature=player_feature, expected_value=expected)

    def contributions(self, X: np.ndarray) -> np.ndarray:
        """(n, features + 1) SHAP values in log-odds, the last column the expected value; rows sum to the margin."""
        rows = max(1, _BLOCK_ELEMENTS // self.feature.size)  # bounded temporaries however large the model
        return by_blocks(self._block, X, rows)

    def _block(self, block: np.ndarray) -> np.ndarray:
        rows, p = block.shape
        out = np.empty((rows, p + 1))
        disagree = ~self._agree(np.take(block, self.feature, axis=1)) & ~self.pad       # [rows, leaves, depth]
        missed = np.bitwise_or.reduce(np.where(disagree, self.bit, 0), axis=2)
        # np.take rather than fancy indexing: the cheaper gather
        phi = np.take(self.table, self.offset + (self.full ^ missed), axis=0)         # [rows, leaves, players]
        at = np.arange(rows)[:, None, None] * p + self.player_feature[None, :, :]
        out[:, :p] = np.bincount(at.ravel(), weights=phi.ravel(), minlength=rows * p).reshape(rows, p)
        out[:, p] = self.expected_value
        return out

    def _agree(self, values: np.ndarray) -> np.ndarray:
        """bool [rows, leaves, depth]: the row goes the leaf's way at each split of its path (x < t goes left)."""
        left = np.where(np.isnan(values), self.default_left, values.astype(np.float32) < self.threshold)
        return left == self.goes_left


def _feature(node: dict[str, Any]) -> int:
    return int(str(node["split"]).lstrip("f"))


def _leaves(root: dict[str, Any]) -> list[_Leaf]:
    """Every leaf of a dumped tree with its path from the root."""
    out: list[_Leaf] = []
    stack: list[tuple[dict[str, Any], list[tuple[dict[str, Any], bool, float]]]] = [(root, [])]
    while stack:
        node, path = stack.pop()
        if "children" not in node:
            out.append(_Leaf(float(node["leaf"]), float(node["cover"]), path))
            continue
        cover = float(node["cover"])
        for child, goes_left in _children(node):
            share = float(child["cover"]) / cover if cover > 0 else 0.0  # XGBoost weighs paths by hessian cover
            stack.append((child, [*path, (node, goes_left, share)]))
    return out


def _children(node: dict[str, Any]) -> list[tuple[dict[str, Any], bool]]:
    """(child, is the left one) of a split node."""
    by_id = {c["nodeid"]: c for c in node["children"]}
    return [(by_id[node["yes"]], True), (by_id[node["no"]], False)]


def _splits(root: dict[str, Any]) -> list[dict[str, Any]]:
    out, stack = [], [root]
    while stack:
        node = stack.pop()
        if "children" in node:
            out.append(node)
            stack += [child for child, _ in _children(node)]
    return out


def from_xgboost(model: Any, iterations: tuple[int, int]) -> PathShap | None:
    """The checked tables of a fitted XGBClassifier's first trees (iterations as its iteration_range); None when
    they do not apply (categorical splits, deep trees).

    ShapMismatch when they differ from XGBoost's own pred_contribs or margin on probe rows.
    """
    import xgboost

    booster = model.get_booster()
    dumps = [json.loads(t) for t in booster.get_dump(with_stats=True, dump_format="json")]
    if iterations[1] > 0:
        dumps = dumps[iterations[0]:iterations[1]]
    splits = [n for t in dumps for n in _splits(t)]
    if any("split_condition" not in n for n in splits):  # a categorical split
        return None
    if booster.feature_names:  # splits then name their feature: number them as the columns are
        index = {name: i for i, name in enumerate(booster.feature_names)}
        for node in splits:
            node["split"] = f"f{index[node['split']]}"
    config = json.loads(booster.save_config())["learner"]
    if config["objective"]["name"] != "binary:logistic":
        return None
    base = float(str(config["learner_model_param"]["base_score"]).strip("[]"))
    tables = PathShap.build(dumps, math.log(base / (1 - base)))
    if tables is None:
        return None

    def predict(rows: np.ndarray, **kind: bool) -> np.ndarray:
        dm = xgboost.DMatrix(rows, missing=np.nan, feature_names=booster.feature_names)
        return booster.predict(dm, iteration_range=iterations, **kind)

    X = probe_rows(booster.num_features(), [(_feature(n), float(n["split_condition"])) for n in splits])
    return checked(tables, f"XGBoost {xgboost.__version__}", lambda rows: predict(rows, pred_contribs=True),
                   lambda rows: predict(rows, output_margin=True), X, TOLERANCE)
