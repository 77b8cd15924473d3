"""Labelled point-in-time snapshots of the behavioural features, for training and backtests.

At each as_of the features see only data strictly before as_of; the label is "a payment due in
(as_of, as_of + outcome_days] was missed". Only customers with an instalment due in that window are
at risk of missing one, so only they are rows.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import polars as pl

from predelinquency.db.runs import Progress, no_progress
from predelinquency.domain.daily import WINDOW_DAYS
from predelinquency.errors import PdeError
from predelinquency.features.build import compute_features
from predelinquency.features.window import build_panel
from predelinquency.settings import Settings


@dataclass(frozen=True)
class Snapshots:
    """Feature rows with their labels, snapshot dates and customers (row i of each belongs together)."""

    X: pl.DataFrame          # registered features only
    y: np.ndarray            # 1: missed a payment due in the outcome window
    as_of: np.ndarray        # datetime64[D]
    customer_id: np.ndarray  # int64

    def __len__(self) -> int:
        return len(self.y)


def snapshot_dates(first_day: date, last_day: date, settings: Settings) -> list[date]:
    """as_of dates, oldest first, every snapshot_every_days back from the newest one whose outcome is known.

    The newest as_of leaves outcome_days + grace_days of data after it: a payment due on the last day of
    the outcome window is only known to be missed once its grace period has run out.
    """
    f, t = settings.features, settings.training
    newest = last_day - timedelta(days=f.outcome_days + settings.simulation.grace_days - 1)
    oldest = first_day + timedelta(days=WINDOW_DAYS)
    needed = min_snapshots(settings)
    n = (newest - oldest).days // t.snapshot_every_days + 1 if newest >= oldest else 0
    if n < needed:
        span = (WINDOW_DAYS + f.outcome_days + settings.simulation.grace_days
                + (needed - 1) * t.snapshot_every_days)
        raise PdeError(f"the data covers {first_day} to {last_day} ({(last_day - first_day).days + 1} days); "
                       f"training needs at least {span} days: {WINDOW_DAYS} of history, {needed} snapshots "
                       f"{t.snapshot_every_days} days apart (out-of-time test, gap, training and validation) and "
                       f"{f.outcome_days + settings.simulation.grace_days} of outcome and grace")
    return [newest - timedelta(days=t.snapshot_every_days * k) for k in range(n)][::-1]


def oot_gap(settings: Settings) -> int:
    """Snapshots dropped before the test, so every training and validation label window ends by the first test as_of.

    A snapshot k steps before the test's first as_of has its outcome window end k·every days later; it may
    stay when k·every ≥ outcome_days, so ceil(outcome/every) − 1 snapshots go.
    """
    return max(math.ceil(settings.features.outcome_days / settings.training.snapshot_every_days) - 1, 0)


def min_snapshots(settings: Settings) -> int:
    """Snapshots the out-of-time split needs: test, the gap keeping training labels out of it, 2+ to develop on."""
    return settings.training.oot_snapshots + oot_gap(settings) + 2


def outcome_labels(payments: pl.DataFrame, as_of: date, outcome_days: int) -> pl.DataFrame:
    """customer_id, missed (0/1) for every customer with an instalment due in (as_of, as_of + outcome_days]."""
    due = payments.filter(
        (pl.col("due_date") > as_of) & (pl.col("due_date") <= as_of + timedelta(days=outcome_days)))
    return due.group_by("customer_id").agg(
        (pl.col("status") == "missed").any().cast(pl.Int8).alias("missed"))


def build_snapshots(daily: pl.DataFrame, customers: pl.DataFrame, accounts: pl.DataFrame,
                    payments: pl.DataFrame, dates: list[date], settings: Settings,
                    progress: Progress = no_progress) -> Snapshots:
    """Features and labels at every date in `dates` (rows by date, then customer), from one dense daily panel."""
    # accounts and payments are put in key order by the features themselves (features/build.py)
    panel = build_panel(daily)
    frames: list[pl.DataFrame] = []
    for i, as_of in enumerate(dates):
        feats = compute_features(panel, as_of, customers, accounts, payments,
                                 grace_days=settings.simulation.grace_days)
        labels = outcome_labels(payments, as_of, settings.features.outcome_days)
        # the rows keep the features' customer order: an unordered join would shuffle them from run to run, and
        # the learners' sampling and early stopping depend on row order, so training would not be reproducible
        frames.append(feats.join(labels, on="customer_id", how="inner", maintain_order="left")
                      .with_columns(pl.lit(as_of).alias("as_of")))
        progress((i + 1) / len(dates), f"snapshot {as_of}: {frames[-1].height} customers at risk")
    data = pl.concat(frames)
    if data.height == 0:
        raise PdeError("no customer has an instalment due in any outcome window: nothing to train on")
    return Snapshots(
        X=data.drop("customer_id", "missed", "as_of"),
        y=data["missed"].to_numpy().astype(np.int64),
        as_of=data["as_of"].to_numpy().astype("datetime64[D]"),
        customer_id=data["customer_id"].to_numpy().astype(np.int64),
    )
