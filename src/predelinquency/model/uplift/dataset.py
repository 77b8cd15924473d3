"""The uplift training set: every settled contact-plan row with the customer's features on its business date.

A row is a planned customer whose next instalment settled as paid, late or missed (y = missed); released
held-out rows and windows without an instalment are left out. The contacted got their recommended action,
the held out got none (their action is only a label). The PD the plan was drawn with is kept: its log-odds
are the learners' offset, so they only learn how a contact shifts the odds.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import polars as pl
from sqlalchemy import Connection

from predelinquency.db.bulk import copy_out
from predelinquency.db.inputs import load_feature_inputs
from predelinquency.errors import PdeError
from predelinquency.features.build import feature_matrix
from predelinquency.features.registry import FEATURE_NAMES
from predelinquency.features.window import build_panel, index_of
from predelinquency.settings import Settings

# plan dates whose features are computed from one load: bounds the dense panel's memory on a large bank
_DATES_PER_LOAD = 31
_EPS = 1e-6
_OUTCOMES = """
SELECT business_date, customer_id, arm, recommended_action, pd,
       CAST(payment_outcome = 'missed' AS integer) AS missed, settled_on
FROM contact_plan
WHERE payment_outcome IN ('paid', 'late', 'missed') AND released_at IS NULL
ORDER BY business_date, customer_id"""
_SCHEMA = {"business_date": pl.Date, "customer_id": pl.Int64, "arm": pl.String, "recommended_action": pl.String,
           "pd": pl.Float64, "missed": pl.Int8, "settled_on": pl.Date}


@dataclass(frozen=True)
class UpliftSet:
    """Settled plan rows with their features (row i of each array belongs together)."""

    X: np.ndarray                # (n, features) in feature_names order
    feature_names: list[str]
    y: np.ndarray                # 1: the next instalment was missed
    action: np.ndarray           # the action the contacted got (the held out's: what they would have got)
    contacted: np.ndarray        # bool: the contact arm
    pd: np.ndarray               # the PD the plan was drawn with
    business_date: np.ndarray    # datetime64[D]
    customer_id: np.ndarray      # int64
    settled_on: np.ndarray       # datetime64[D]: the business date the outcome settled

    def __len__(self) -> int:
        return len(self.y)

    @property
    def offset(self) -> np.ndarray:
        """The plan's PD as log-odds: what a learner starts from."""
        p = np.clip(self.pd, _EPS, 1 - _EPS)
        return np.log(p / (1 - p))

    def rows(self, mask: np.ndarray) -> UpliftSet:
        """The rows selected by a boolean mask or index array."""
        return UpliftSet(self.X[mask], self.feature_names, self.y[mask], self.action[mask], self.contacted[mask],
                         self.pd[mask], self.business_date[mask], self.customer_id[mask], self.settled_on[mask])

    def counts(self) -> dict[str, int]:
        """Settled outcomes by arm: {'held_out': n, action: contacted n, ...}."""
        actions, n = np.unique(self.action[self.contacted], return_counts=True)
        return {"held_out": int((~self.contacted).sum()), **dict(zip(actions.tolist(), n.tolist(), strict=True))}


def settled_outcomes(conn: Connection) -> pl.DataFrame:
    """Every settled, not released contact-plan row with an instalment outcome, oldest plan first."""
    return copy_out(conn, _OUTCOMES, schema=_SCHEMA)


def uplift_features(names: list[str]) -> list[str]:
    """The features the uplift model learns from: the PD champion's, which the nightly computes anyway."""
    known = [n for n in names if n in set(FEATURE_NAMES)]
    if not known:
        raise PdeError("the champion PD model uses none of the behavioural features (trained on a table of its own?):"
                       " the uplift model learns from the features the nightly computes; train one with pde train")
    return known


def build_uplift_set(conn: Connection, settings: Settings, outcomes: pl.DataFrame, names: list[str]) -> UpliftSet:
    """The outcomes' features at their business dates (computed as the nightly did), by blocks of plan dates."""
    if outcomes.height == 0:
        raise PdeError("no contact-plan outcome has settled yet: the uplift model learns from contacted and held-out "
                       "customers whose next instalment came due (run the nightly for more business days)")
    columns = np.array([FEATURE_NAMES.index(n) for n in names], dtype=np.int64)
    X = np.full((outcomes.height, len(names)), np.nan)
    days = outcomes["business_date"].to_numpy().astype("datetime64[D]")
    ids = outcomes["customer_id"].to_numpy()
    dates = sorted(set(outcomes["business_date"].to_list()))
    for block in (dates[i:i + _DATES_PER_LOAD] for i in range(0, len(dates), _DATES_PER_LOAD)):
        in_block = (days >= np.datetime64(block[0])) & (days <= np.datetime64(block[-1]))
        customers = np.unique(ids[in_block])
        inputs = load_feature_inputs(conn, block[0], block[-1], customers.tolist())
        panel = build_panel(inputs.daily, customers, inputs.start, inputs.end)
        for as_of in block:
            rows = np.flatnonzero(days == np.datetime64(as_of))
            matrix = feature_matrix(panel, as_of, inputs.customers, inputs.accounts, inputs.payments,
                                    grace_days=settings.simulation.grace_days)
            X[rows] = matrix[index_of(panel.customer_ids, ids[rows])][:, columns]
    return UpliftSet(
        X=X, feature_names=list(names), y=outcomes["missed"].to_numpy().astype(np.int64),
        action=outcomes["recommended_action"].to_numpy().astype(object),
        contacted=(outcomes["arm"] == "contact").to_numpy(), pd=outcomes["pd"].to_numpy(),
        business_date=days, customer_id=ids.astype(np.int64),
        settled_on=outcomes["settled_on"].to_numpy().astype("datetime64[D]"))


def newest_dates(dates: np.ndarray, share: float) -> date:
    """The first plan date of the test: the newest plan dates holding at least `share` of the rows (one date at
    least, never all). By rows, not dates: the newest dates have settled the fewest outcomes yet."""
    distinct, n = np.unique(dates, return_counts=True)
    if len(distinct) < 2:
        raise PdeError(f"the settled outcomes cover {len(distinct)} plan date(s): evaluating on outcomes the model "
                       "did not see needs at least two")
    newest_first = np.cumsum(n[::-1])
    k = int(np.searchsorted(newest_first, share * n.sum())) + 1
    return distinct[-min(k, len(distinct) - 1)].astype(date)
