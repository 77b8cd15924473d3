"""What every learner shares: its input, the fit / log-odds / explain contract and the training constants."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar, Self

import numpy as np
from sklearn.base import BaseEstimator

from predelinquency.model.encoding import TableEncoder
from predelinquency.model.shap.check import ShapTable

# enough trees for early stopping to find the optimum at the learning rates searched, few enough to stay fast
MAX_TREES = 1000
EARLY_STOPPING = 50
# without a validation set there is no early stopping: a moderate fixed count
DEFAULT_TREES = 300
# the parameter that says whether a learner weights defaulters up by the class ratio (True) or not (False):
# chosen on validation like the others, and passed to the library as its positive-class weight
CLASS_WEIGHTS = "class_weights"
# histogram bins per feature: fewer than the libraries' default fit markedly faster at no measurable AUC cost on
# our snapshots (bench/RESULTS.md); a constant, not a searched parameter
BINS = 64
# a handful of rows (an API request) runs on one thread: waking a thread pool costs more than the work, and
# API requests run concurrently anyway
SMALL = 64


@dataclass
class FitData:
    """One learner's input: the encoded matrix (NaN = missing), the 0/1 labels and the encoder that made it."""

    X: np.ndarray
    y: np.ndarray | None
    encoder: TableEncoder
    _derived: dict[str, Any] = field(default_factory=dict, repr=False)

    def derived(self, key: str, build: Callable[[], Any]) -> Any:
        """A library's own form of this input (e.g. CatBoost's frame), built once however many fits read it."""
        if key not in self._derived:
            self._derived[key] = build()
        return self._derived[key]

    def threads(self, default: int = -1) -> int:
        """1 for a handful of rows, else the library's default."""
        return 1 if len(self.X) <= SMALL else default


class Learner(ABC, BaseEstimator):
    """One gradient-boosting library behind the ensemble's interface; outputs are log-odds (margins)."""

    name: ClassVar[str]
    trees_param: ClassVar[str]  # the library's name for the number of trees
    defaults: ClassVar[dict[str, Any]]
    # search.py's space: ("log", lo, hi) log-uniform, ("uniform", lo, hi), ("int", lo, hi), ("int_log", lo, hi),
    # or a list to choose from; the defaults lie inside it (they are the search's first trial)
    space: ClassVar[dict[str, Any]]
    weight: ClassVar[float]  # its share of the ensemble unless configured otherwise

    def __init__(self, params: dict[str, Any] | None = None, pos_weight: float = 1.0, random_state: int = 42,
                 n_jobs: int = 2, monotone: tuple[int, ...] | None = None) -> None:
        self.params = params
        self.pos_weight = pos_weight
        self.random_state = random_state
        self.n_jobs = n_jobs
        self.monotone = monotone  # per encoded column: +1 rising, -1 falling, 0 free (None: all free)

    def fit(self, train: FitData, val: FitData | None = None) -> Self:
        """Fits the library's model, early-stopped at the best validation AUC when val is given; returns self."""
        params = {**self.defaults, **(self.params or {})}
        weighted = bool(params.pop(CLASS_WEIGHTS, True))
        self.pos_weight_ = self.pos_weight if weighted else 1.0
        params.setdefault(self.trees_param, MAX_TREES if val is not None else DEFAULT_TREES)
        self.model_ = self._fit(params, train, val)
        self.n_trees_ = self._n_trees()
        # the tree count fixed at the early-stopped optimum: refits without validation (CV) reuse it
        self.params_ = {**params, self.trees_param: self.n_trees_, CLASS_WEIGHTS: weighted}
        return self

    def _constraints(self) -> list[int] | None:
        """The monotone constraints per column, or None when there are none."""
        return list(self.monotone) if self.monotone and any(self.monotone) else None

    @classmethod
    def wrap(cls, model: Any, params: dict[str, Any]) -> Self:
        """A learner around the library's already fitted model (artifacts saved before these classes existed)."""
        learner = cls(params)
        learner.model_ = model
        learner.n_trees_ = learner._n_trees()
        learner.params_ = dict(params)
        return learner

    def contributions(self, data: FitData, approximate: bool = False) -> np.ndarray:
        """(n, p + 1) exact TreeSHAP values in log-odds, the last column the expected value; rows sum to margin.

        From our checked table when there is one, else from the library. approximate: the library's path
        attribution (Saabas) where it has one: still additive, cheaper, but a different split of the log-odds.
        """
        table = None if approximate else self.shap_table()
        return table.contributions(data.X) if table is not None else self.library_contributions(data, approximate)

    def shap_table(self) -> ShapTable | None:
        """The fitted model's exact TreeSHAP table, built and checked on first use (None: the library explains)."""
        if not hasattr(self, "_table"):
            self._table = self._build_table()
        return self._table

    def __getstate__(self) -> dict[str, Any]:
        # the table is derived from the fitted model: rebuilt (and checked) after loading, never stored
        state = super().__getstate__()
        state.pop("_table", None)
        return state

    @classmethod
    @abstractmethod
    def library_version(cls) -> str:
        """The version of the library, recorded with a saved model (loading needs the same)."""

    @abstractmethod
    def margin(self, data: FitData) -> np.ndarray:
        """Log-odds per row."""

    @abstractmethod
    def library_contributions(self, data: FitData, approximate: bool = False) -> np.ndarray:
        """contributions() as the library computes them."""

    @abstractmethod
    def _fit(self, params: dict[str, Any], train: FitData, val: FitData | None) -> Any:
        """The library's fitted model."""

    @abstractmethod
    def _n_trees(self) -> int:
        """How many trees the fitted model uses (the best iteration after early stopping)."""

    def _build_table(self) -> ShapTable | None:
        """Our table of the fitted model, checked against the library; None where the library's own is as fast."""
        return None
