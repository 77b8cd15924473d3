"""Scoring on demand for the API: one customer, a batch of customers, or a bare feature payload.

Same features, model and decisions as the nightly job; nothing is written. A customer whose nightly score is
still current (nothing it was computed from has changed, see scoring/stored.py) gets that stored row, marked
source 'nightly'; the others are computed now, source 'computed'. Both are the same result.
"""

from __future__ import annotations

import math
from datetime import date, timedelta
from typing import Any

import numpy as np
import polars as pl
from sqlalchemy import Connection

from predelinquency.db.bulk import customer_filter, fetch_all
from predelinquency.db.inputs import FeatureInputs
from predelinquency.domain.scale import pd_to_score, pd_to_tier, score_to_band
from predelinquency.errors import NotFound, PdeError
from predelinquency.features import registry
from predelinquency.model.pd_model import PDModel
from predelinquency.model.registry import load_model
from predelinquency.scoring.actions import NO_ACTION
from predelinquency.scoring.decide import as_records
from predelinquency.scoring.nightly import load_latest_scoring_inputs, load_scoring_inputs, score_ids
from predelinquency.scoring.policy import apply_policy
from predelinquency.scoring.reasons import reason_codes
from predelinquency.scoring.stored import (
    input_digests,
    stored_by_digest,
    stored_latest,
    stored_scores,
    unchanged_latest,
)
from predelinquency.settings import Settings
from predelinquency.table import Table

MAX_BATCH = 1_000


def _latest_days(conn: Connection, customer_ids: list[int]) -> dict[int, date | None]:
    """Each known customer's latest day of daily data (None: none yet); unknown ids are absent.

    One round trip for both questions a request asks first; an index lookup per customer, not a table scan.
    """
    only, params = customer_filter(customer_ids, "c.customer_id")
    return dict(fetch_all(conn, "SELECT c.customer_id, (SELECT max(day) FROM daily_balances b "
                                f"WHERE b.customer_id = c.customer_id) FROM customers c WHERE {only}", params))


def score_customers(conn: Connection, settings: Settings, customer_ids: list[int], model: PDModel | None = None,
                    as_of: date | None = None, reuse_stored: bool = True) -> list[dict[str, Any]]:
    """Score, tier, reasons and recommended action per customer, in the order asked; NotFound names unknown ids.

    reuse_stored=False computes every customer even when their nightly score is current.
    """
    if not customer_ids:
        return []
    if len(customer_ids) > MAX_BATCH:
        raise PdeError(f"at most {MAX_BATCH} customers per request; got {len(customer_ids)}")
    model = model or load_model(settings, conn)
    reuse = reuse_stored and model.version is not None
    if as_of is None and len(set(customer_ids)) == 1:
        return [_score_latest(conn, settings, model, customer_ids[0], reuse)] * len(customer_ids)
    by_id = stored_scores(conn, settings, model.version, as_of, customer_ids) if reuse and as_of is not None else {}
    if len(by_id) == len(set(customer_ids)):
        return [by_id[c] for c in customer_ids]
    as_of, by_id = _as_of(conn, settings, model, customer_ids, as_of, by_id, reuse)
    rest = sorted({c for c in customer_ids if c not in by_id})
    if rest:
        inputs, previous = load_scoring_inputs(conn, as_of, rest, on_demand=True)
    if rest and reuse:  # data changed somewhere: reuse the stored rows of customers whose own inputs did not
        by_id.update(stored_by_digest(conn, settings, model.version, as_of, input_digests(inputs)))
        before = len(rest)
        rest = [c for c in rest if c not in by_id]
        if rest and len(rest) < before:
            inputs = inputs.only(rest)  # previous rows of the others are simply never looked up
    if rest:
        by_id.update(_computed(conn, settings, model, as_of, rest, inputs, previous))
    return [by_id[c] for c in customer_ids]


def _score_latest(conn: Connection, settings: Settings, model: PDModel, customer_id: int,
                  reuse: bool) -> dict[str, Any]:
    """The API's usual request, one customer at the day after their latest data, in at most two reads.

    The stored row first (served when current); then the latest day, inputs and previous score in one
    statement, against which that row is checked once more before anything is computed.
    """
    served, row = stored_latest(conn, settings, model.version, customer_id) if reuse else ({}, None)
    if served:
        return served[customer_id]
    as_of, inputs, previous = _latest_inputs(conn, customer_id)
    if row is not None:  # data changed somewhere since the nightly: perhaps not this customer's
        served = unchanged_latest(conn, settings, row, as_of, inputs, previous)
        if served:
            return served[customer_id]
    return _computed(conn, settings, model, as_of, [customer_id], inputs, previous)[customer_id]


def _computed(conn: Connection, settings: Settings, model: PDModel, as_of: date, customer_ids: list[int],
              inputs: FeatureInputs, previous: Table) -> dict[int, dict[str, Any]]:
    """customer_id -> the result computed now from their loaded inputs (source 'computed')."""
    decided, _ = score_ids(conn, settings, model, as_of, np.asarray(customer_ids, dtype=np.int64), (inputs, previous))
    return {r["customer_id"]: r | {"as_of": as_of, "model_version": model.version, "source": "computed"}
            for r in as_records(decided)}


def _unknown(ids: list[int]) -> NotFound:
    shown = ", ".join(map(str, ids[:10])) + (" …" if len(ids) > 10 else "")
    return NotFound(f"unknown customer{'s' if len(ids) > 1 else ''}: {shown}")


def _no_data() -> PdeError:
    return PdeError("there is no banking data for these customers yet")


def _latest_inputs(conn: Connection, customer_id: int) -> tuple[date, FeatureInputs, Table]:
    """One customer's as_of (the day after their latest data), inputs and previous scores; NotFound if unknown."""
    loaded = load_latest_scoring_inputs(conn, customer_id)
    if loaded is None:
        raise _unknown([customer_id])
    as_of, inputs, previous = loaded
    if as_of is None:
        raise _no_data()
    return as_of, inputs, previous


def _as_of(conn: Connection, settings: Settings, model: PDModel, customer_ids: list[int], as_of: date | None,
           by_id: dict[int, dict[str, Any]], reuse: bool) -> tuple[date, dict[int, dict[str, Any]]]:
    """(as_of, the stored results found so far): as_of defaults to the day after the latest data of any of them.

    NotFound names unknown customers.
    """
    latest = _latest_days(conn, list(customer_ids))
    unknown = [c for c in customer_ids if c not in latest]
    if unknown:
        raise _unknown(unknown)
    if as_of is None:
        days = [d for d in latest.values() if d is not None]
        if not days:
            raise _no_data()
        as_of = max(days) + timedelta(days=1)
        if reuse:
            by_id = stored_scores(conn, settings, model.version, as_of, customer_ids)
    return as_of, by_id


def score_customer(conn: Connection, settings: Settings, customer_id: int, model: PDModel | None = None,
                   as_of: date | None = None, reuse_stored: bool = True) -> dict[str, Any]:
    """The current score, tier, reasons and recommended action of one customer (NotFound if unknown)."""
    return score_customers(conn, settings, [customer_id], model, as_of, reuse_stored)[0]


def score_feature_payload(settings: Settings, model: PDModel, features: dict[str, float | None]) -> dict[str, Any]:
    """PD, score, tier and reasons for a bare feature vector (no customer, no exposure, no action).

    Any registered feature may be given: the model reads its own (missing ones count as unknown) and the
    policy rules read theirs, which need not be model features.
    """
    known = set(model.feature_names) | set(registry.FEATURE_NAMES)
    unknown = sorted(set(features) - known)
    if unknown:
        raise PdeError(f"unknown feature{'s' if len(unknown) > 1 else ''}: {', '.join(unknown[:10])}")
    values = {n: (math.nan if v is None else float(v)) for n, v in features.items()}
    X = pl.DataFrame([{n: values.get(n, math.nan) for n in model.feature_names}],
                     schema={n: pl.Float64 for n in model.feature_names})
    pd_, contrib = model.explain(X)
    score = pd_to_score(pd_, settings.scoring)
    model_tier = pd_to_tier(pd_, settings.scoring).astype(object)
    # policy rules on the features the payload carries; rules on features it leaves out cannot be judged here
    given = pl.DataFrame([values], schema={n: pl.Float64 for n in values}) if values else pl.DataFrame()
    rules = [r for r in settings.policy_rules if r.feature in given.columns]
    tier, fired = apply_policy(model_tier, given, rules)
    return {
        "model_version": model.version,
        "pd": float(pd_[0]),
        "score": int(score[0]),
        "rating_band": str(score_to_band(score, settings.scoring)[0]),
        "tier": str(tier[0]),
        "model_tier": str(model_tier[0]),
        "policy_rules": fired[0],
        "reasons": reason_codes(contrib, X.to_numpy().astype(np.float64), model.feature_names, registry.get)[0],
        "recommended_action": NO_ACTION,
        "source": "computed",
    }
