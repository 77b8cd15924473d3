"""Train / validation / test splits and CV folds; out-of-time whenever there is a time.

Out of time: the newest `oot` time groups are the test, the `validation` groups before them tune, calibrate,
weight and set the threshold, the rest train. `gap` groups are dropped before each boundary: a snapshot's label
looks `outcome_days` ahead, so without a gap the training labels would already have seen the validation (and
test) period. Without a time: a stratified random split.

With `entities` (customer ids) the validation is not a time window but a hash-chosen share of the customers
over the whole development period (everything older than the test and its gap): a short history then loses
no snapshots to a second gap, and no customer is in both parts, so no missed payment is both a training and a
validation label (which would let the learners memorise customers and make early stopping and calibration
over-confident). Time-ordered CV folds keep the same rule where a fold's labels reach into the next.
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


def validating_entities(entities: npt.ArrayLike, share: float = 0.5) -> np.ndarray:
    """Per row: whether its entity is in the deterministic, hash-chosen `share` of entities that validates."""
    e = np.asarray(entities).astype(np.int64).astype(np.uint64)
    u = ((e * np.uint64(0x9E3779B97F4A7C15)) >> np.uint64(11)).astype(np.float64) / float(1 << 53)
    return u < share


def _guard(train: np.ndarray, val: np.ndarray, inv: np.ndarray, first_val: int, overlap: int,
           held: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """(train, validation) with the validating entities out of the `overlap` training groups before first_val."""
    if held is None or overlap <= 0:
        return train, val
    near = (inv[train] >= first_val - overlap) & held[train]
    return train[~near], val[held[val]]


def out_of_time_split(groups: npt.ArrayLike, oot: int, validation: int, gap: int = 0,
                      validation_gap: int | None = None, entities: npt.ArrayLike | None = None,
                      validation_share: float = 0.2) -> Split:
    """Newest `oot` groups = test; before them (after `gap`) the validation, older = train.

    Without entities the validation is the `validation` groups before the test's gap, with validation_gap
    (default: gap) groups dropped before it. With entities it is `validation_share` of the customers over the
    whole development period (see the module docstring).
    """
    uniq, inv = _sorted_groups(groups)
    g = len(uniq)
    test_from = g - oot
    pos = np.arange(len(inv))
    if entities is not None:
        if g < oot + gap + 2:
            raise PdeError(f"an out-of-time split needs at least {oot + gap + 2} distinct time periods "
                           f"({oot} test, {gap} gap, 2+ for training and validation); found {g}")
        dev_to = test_from - gap
        held = validating_entities(entities, validation_share)
        dev = inv < dev_to
        return Split(
            train=pos[dev & ~held], validation=pos[dev & held], test=pos[inv >= test_from], kind="out_of_time",
            groups={"train": [str(v) for v in uniq[:dev_to]], "validation": [str(v) for v in uniq[:dev_to]],
                    "test": [str(v) for v in uniq[test_from:]]},
        )
    vgap = gap if validation_gap is None else validation_gap
    need = oot + validation + 1 + gap + vgap
    if g < need:
        raise PdeError(f"an out-of-time split needs at least {need} distinct time periods "
                       f"({oot} test, {gap} gap, {validation} validation, {vgap} gap, 1+ train); found {g}")
    val_from = test_from - gap - validation
    train_to = val_from - vgap  # exclusive
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


def expanding_window_folds(groups: npt.ArrayLike, n_folds: int, gap: int = 0, label_gap: int | None = None,
                           entities: npt.ArrayLike | None = None) -> Folds:
    """Time-ordered CV: fold i trains on the first i+1 blocks of groups and validates on block i+2.

    `gap` groups are dropped before each validation block; with entities, the validating customers are also
    left out of the `label_gap - gap` training groups before that whose labels would reach into it.
    """
    uniq, inv = _sorted_groups(groups)
    held = validating_entities(entities) if entities is not None else None
    overlap = (label_gap or 0) - gap
    n_blocks = min(n_folds + 1, len(uniq))
    blocks = np.array_split(np.arange(len(uniq)), n_blocks)
    pos = np.arange(len(inv))
    folds: Folds = []
    for i in range(1, n_blocks):
        first_val = int(blocks[i][0])
        tr, va = _guard(pos[inv < first_val - gap], pos[np.isin(inv, blocks[i])], inv, first_val - gap, overlap,
                        held)
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
