"""Train / validation / test splits and CV folds; out-of-time whenever there is a time.

Out of time: the newest `oot` time groups are the test, the `validation` groups before them tune, calibrate,
weight and set the threshold, the rest train. `gap` groups are dropped before each boundary: a snapshot's label
looks `outcome_days` ahead, so without a gap the training labels would already have seen the validation (and
test) period. Without a time: a stratified random split.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
from sklearn.model_selection import StratifiedKFold, train_test_split

from predelinquency.errors import PdeError

Folds = list[tuple[np.ndarray, np.ndarray]]


@dataclass(frozen=True)
class Split:
    """Row positions of each part, how the split was made, and (out of time) the time groups in each part."""

    train: np.ndarray
    validation: np.ndarray
    test: np.ndarray
    kind: Literal["out_of_time", "stratified_random"]
    groups: dict[str, list[str]] | None = None

    def summary(self, y: npt.ArrayLike) -> dict[str, Any]:
        """Rows and defaults per part (and the time groups), for the params stored with the model."""
        yy = np.asarray(y)
        out: dict[str, Any] = {"kind": self.kind}
        for part in ("train", "validation", "test"):
            idx = getattr(self, part)
            out[part] = {"rows": len(idx), "defaults": int(yy[idx].sum())}
            if self.groups:
                g = self.groups[part]
                out[part].update({"first": g[0] if g else None, "last": g[-1] if g else None, "groups": len(g)})
        return out


def _sorted_groups(groups: npt.ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """(distinct groups in time order, each row's position in that order)."""
    g = np.asarray(groups)
    empty = (
        (g.dtype.kind in "fc" and np.isnan(g).any())
        or (g.dtype.kind in "mM" and np.isnat(g).any())
        or (g.dtype == object and any(v is None for v in g))
    )
    if empty:
        raise PdeError("the time column has empty values")
    return np.unique(g, return_inverse=True)


def out_of_time_split(groups: npt.ArrayLike, oot: int, validation: int, gap: int = 0,
                      validation_gap: int | None = None) -> Split:
    """Newest `oot` groups = test, the `validation` before them (after `gap`) = validation, older = train.

    validation_gap (default: gap) is dropped between train and validation. Only the test must be strictly
    unseen; a short history may afford a gap before the test only.
    """
    vgap = gap if validation_gap is None else validation_gap
    uniq, inv = _sorted_groups(groups)
    need = oot + validation + 1 + gap + vgap
    if len(uniq) < need:
        raise PdeError(f"an out-of-time split needs at least {need} distinct time periods "
                       f"({oot} test, {gap} gap, {validation} validation, {vgap} gap, 1+ train); "
                       f"found {len(uniq)}")
    g = len(uniq)
    test_from = g - oot
    val_from = test_from - gap - validation
    train_to = val_from - vgap  # exclusive
    pos = np.arange(len(inv))
    return Split(
        train=pos[inv < train_to], validation=pos[(inv >= val_from) & (inv < val_from + validation)],
        test=pos[inv >= test_from], kind="out_of_time",
        groups={"train": [str(v) for v in uniq[:train_to]],
                "validation": [str(v) for v in uniq[val_from:val_from + validation]],
                "test": [str(v) for v in uniq[test_from:]]},
    )


def random_split(y: npt.ArrayLike, validation: float = 0.2, test: float = 0.2, seed: int = 42) -> Split:
    """Stratified random train/validation/test positions (fractions of all rows)."""
    yy = np.asarray(y)
    pos = np.arange(len(yy))
    dev, te = train_test_split(pos, test_size=test, stratify=yy, random_state=seed)
    tr, va = train_test_split(dev, test_size=validation / (1 - test), stratify=yy[dev], random_state=seed)
    return Split(train=np.sort(tr), validation=np.sort(va), test=np.sort(te), kind="stratified_random")


def time_periods(times: npt.ArrayLike, n_periods: int = 10) -> np.ndarray:
    """Period number 0..n_periods-1 per row, periods of about equal row counts in time order; ties share one.

    For a raw time column (a date per row) rather than snapshot dates: "newest 2 groups" then means the newest
    ~20% of rows.
    """
    uniq, inv = _sorted_groups(times)
    if len(uniq) <= n_periods:
        return inv
    counts = np.bincount(inv, minlength=len(uniq))
    start_share = (np.cumsum(counts) - counts) / counts.sum()  # share of rows before each distinct time
    period_of_value = np.minimum((start_share * n_periods).astype(np.int64), n_periods - 1)
    return period_of_value[inv]


def expanding_window_folds(groups: npt.ArrayLike, n_folds: int, gap: int = 0) -> Folds:
    """Time-ordered CV: fold i trains on the first i+1 blocks of groups and validates on block i+2."""
    uniq, inv = _sorted_groups(groups)
    n_blocks = min(n_folds + 1, len(uniq))
    blocks = np.array_split(np.arange(len(uniq)), n_blocks)
    pos = np.arange(len(inv))
    folds: Folds = []
    for i in range(1, n_blocks):
        first_val = int(blocks[i][0])
        tr = pos[inv < first_val - gap]
        va = pos[np.isin(inv, blocks[i])]
        if len(tr) and len(va):
            folds.append((tr, va))
    return folds


def stratified_folds(y: npt.ArrayLike, n_folds: int, seed: int = 42) -> Folds:
    """Stratified K-fold positions (the CV when there is no time)."""
    yy = np.asarray(y)
    k = min(n_folds, int(yy.sum()), int(len(yy) - yy.sum()))
    if k < 2:
        return []
    return [(tr, va) for tr, va in StratifiedKFold(k, shuffle=True, random_state=seed).split(np.zeros(len(yy)), yy)]
