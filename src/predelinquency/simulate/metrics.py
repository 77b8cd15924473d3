"""How realistic and how learnable a generated bank is: the observed share of customer 30-day windows
with a missed instalment, and how well the generator's own true_pd ranks and matches it (ceiling AUC)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from predelinquency.simulate.chunk import Chunk
from predelinquency.simulate.payments import MISSED, WINDOW

# true_pd binned on the logit scale: fine enough for an AUC to 3 decimals, and summable across chunks
_EDGES = np.linspace(-14.0, 6.0, 4001)


def window_labels(ch: Chunk) -> np.ndarray:
    """(n, days - 30) realised labels: a missed instalment due in (as_of, as_of + 30] for each as_of day."""
    n, days = ch.true_pd.shape
    s, st = ch.schedule, ch.settlement
    missed = st.status == MISSED
    counts = np.bincount(s.cust[missed].astype(np.int64) * days + s.due[missed], minlength=n * days)
    cum = np.concatenate([np.zeros((n, 1)), np.cumsum(counts.reshape(n, days), axis=1)], axis=1)
    return (cum[:, WINDOW + 1:] - cum[:, 1:days - WINDOW + 1]) > 0


@dataclass
class MissStats:
    """Running totals over customer-windows whose 30 days lie inside the data."""

    windows: int = 0
    misses: int = 0
    pd_sum: float = 0.0
    pos: np.ndarray = field(default_factory=lambda: np.zeros(len(_EDGES) + 1))
    neg: np.ndarray = field(default_factory=lambda: np.zeros(len(_EDGES) + 1))

    def __iadd__(self, other: MissStats) -> MissStats:
        self.windows += other.windows
        self.misses += other.misses
        self.pd_sum += other.pd_sum
        self.pos += other.pos
        self.neg += other.neg
        return self

    @property
    def miss_rate(self) -> float | None:
        return round(self.misses / self.windows, 5) if self.windows else None

    @property
    def mean_true_pd(self) -> float | None:
        return round(self.pd_sum / self.windows, 5) if self.windows else None

    @property
    def auc(self) -> float | None:
        """AUC of true_pd against the realised label (ties within a bin count half)."""
        p, q = self.pos.sum(), self.neg.sum()
        if not p or not q:
            return None
        neg_below = np.concatenate([[0.0], np.cumsum(self.neg)[:-1]])
        return round(float((self.pos * (neg_below + 0.5 * self.neg)).sum() / (p * q)), 4)


def chunk_miss_stats(ch: Chunk) -> MissStats:
    """MissStats of one chunk."""
    label = window_labels(ch)
    pd_ = ch.true_pd[:, : label.shape[1]]
    logit = np.log(np.clip(pd_, 1e-9, 1 - 1e-9) / np.clip(1 - pd_, 1e-9, None))
    bins = np.searchsorted(_EDGES, logit)
    size = len(_EDGES) + 1
    return MissStats(
        windows=int(label.size), misses=int(label.sum()), pd_sum=float(pd_.sum()),
        pos=np.bincount(bins[label], minlength=size).astype(float),
        neg=np.bincount(bins[~label], minlength=size).astype(float),
    )
