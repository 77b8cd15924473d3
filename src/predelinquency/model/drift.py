"""Drift of a nightly run against the model's training baseline: PSI of the score and of every feature.

Shards arrive one at a time, so bin counts are accumulated and the PSI is computed once at the end: the
result is exactly the PSI of the whole population, without holding it in memory.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from predelinquency.features.registry import CALENDAR_FEATURES
from predelinquency.model.psi import psi_band, psi_of_fractions, share_per_bin


class DriftAccumulator:
    """Bin counts of scores and features per shard; `result()` gives PSI per column and its band."""

    def __init__(self, baseline: dict[str, Any]) -> None:
        self.baseline = baseline or {}
        self._counts: dict[str, np.ndarray] = {}
        self._n = 0

    def _add(self, key: str, spec: dict[str, Any], values: np.ndarray) -> None:
        counts = share_per_bin(values, np.asarray(spec["edges"], dtype=np.float64)) * len(values)
        self._counts[key] = self._counts.get(key, 0) + counts

    def add(self, scores: np.ndarray, features: Mapping[str, np.ndarray]) -> None:
        """Adds one shard's scores and feature values (by feature name, aligned to scores)."""
        if len(scores) == 0:
            return
        self._n += len(scores)
        if "score" in self.baseline:
            self._add("score", self.baseline["score"], np.asarray(scores, dtype=np.float64))
        for name, spec in self.baseline.get("features", {}).items():
            if name in features:
                self._add(f"f:{name}", spec, np.asarray(features[name], dtype=np.float64))

    def merge(self, other: DriftAccumulator) -> None:
        """Adds the counts another accumulator of the same baseline gathered (a shard scored elsewhere)."""
        self._n += other._n
        for key, counts in other._counts.items():
            self._counts[key] = self._counts.get(key, 0) + counts

    def result(self) -> dict[str, Any]:
        """{'score', 'score_band', 'features': {name: psi}, 'worst', 'retrain', 'calendar'}.

        'retrain' names the behavioural features beyond the retrain band; calendar features (registry
        CALENDAR_FEATURES) beyond it are listed under 'calendar' instead: they move with the date.
        """
        if self._n == 0 or not self.baseline:
            return {}
        out: dict[str, Any] = {}
        if "score" in self._counts:
            out["score"] = round(psi_of_fractions(self.baseline["score"]["fractions"],
                                                  self._counts["score"] / self._n), 6)
            out["score_band"] = psi_band(out["score"])
        feats = {k[2:]: round(psi_of_fractions(self.baseline["features"][k[2:]]["fractions"], c / self._n), 6)
                 for k, c in self._counts.items() if k.startswith("f:")}
        out["features"] = feats
        ranked = sorted(feats.items(), key=lambda kv: -kv[1])
        out["worst"] = [{"feature": k, "psi": v, "band": psi_band(v), "calendar": k in CALENDAR_FEATURES}
                        for k, v in ranked[:10]]
        out["retrain"] = [k for k, v in ranked if psi_band(v) == "retrain" and k not in CALENDAR_FEATURES]
        out["calendar"] = [k for k, v in ranked if psi_band(v) == "retrain" and k in CALENDAR_FEATURES]
        return out
