"""Scoring on demand for the API: one customer, a batch of customers, or a bare feature payload.

Same features, models and decisions as the nightly job; nothing is written. One path: a customer whose nightly
score is still current (nothing it was computed from has changed, see scoring/stored.py) gets that stored row,
marked source 'nightly'; the others are computed now from the database, source 'computed'. Both are the same
result.
"""

from __future__ import annotations

import math
from datetime import date
from typing import Any

import numpy as np
import polars as pl
from sqlalchemy import Connection

from predelinquency.db.inputs import load_latest_scoring_inputs, load_scoring_inputs
from predelinquency.domain.scale import pd_to_score, pd_to_tier, score_to_band
from predelinquency.errors import NotFound, PdeError
from predelinquency.features import registry
from predelinquency.model.pd_model import PDModel
from predelinquency.model.registry import load_model
from predelinquency.model.uplift.model import UpliftModel
from predelinquency.model.uplift.registry import load_uplift
from predelinquency.scoring.actions import NO_ACTION
from predelinquency.scoring.compute import score_ids
from predelinquency.scoring.decide import as_records
from predelinquency.scoring.policy import apply_policy
from predelinquency.scoring.reasons import reason_codes
from predelinquency.scoring.stored import stored_scores
from predelinquency.scoring.why import estimate_sources, why_rows
from predelinquency.settings import Settings
from predelinquency.table import column

MAX_BATCH = 1_000


def score_customers(conn: Connection, settings: Settings, customer_ids: list[int], model: PDModel | None = None,
                    as_of: date | None = None, reuse_stored: bool = True, uplift: UpliftModel | None = None
                    ) -> list[dict[str, Any]]:
    """Score, tier, reasons, next-best action and why, per customer in the order asked; NotFound names unknown ids.

    as_of None: the day after the latest data of any of them. reuse_stored=False computes every customer even
    when their nightly score is current. uplift: the uplift model deciding the action (default: the champion).
    """
    if not customer_ids:
        return []
    if len(customer_ids) > MAX_BATCH:
        raise PdeError(f"at most {MAX_BATCH} customers per request; got {len(customer_ids)}")
    model = model or load_model(settings, conn)
    uplift = uplift or load_uplift(settings, conn)
    wanted = list(dict.fromkeys(customer_ids))
    results = (stored_scores(conn, settings, model.version, wanted, as_of, uplift.version)
               if reuse_stored and model.version else {})
    rest = [c for c in wanted if c not in results]
    if rest:
        # a row served without as_of is at the day after the latest data of everybody (nothing changed since
        # its nightly, which scored the day after the latest data): the rest are scored at that day too
        day = as_of or next((r["as_of"] for r in results.values()), None)
        results |= computed_scores(conn, settings, model, rest, day, uplift)
    sources = estimate_sources(uplift)
    costs = dict(zip(uplift.actions, uplift.costs().tolist(), strict=True))
    for r in results.values():
        r["why"] = why_rows([r | {"action_cost": costs.get(r["recommended_action"])}], sources,
                            settings.costs.lgd)[0]
    return [results[c] for c in customer_ids]


def computed_scores(conn: Connection, settings: Settings, model: PDModel, customer_ids: list[int],
                    as_of: date | None = None, uplift: UpliftModel | None = None) -> dict[int, dict[str, Any]]:
    """customer_id -> the result computed now from the database (source 'computed'); NotFound names unknown ids.

    as_of None: the day after the latest data of any of them, found in the same read as their inputs.
    """
    if as_of is None:
        as_of, inputs, previous = load_latest_scoring_inputs(conn, customer_ids)
    else:
        inputs, previous = load_scoring_inputs(conn, as_of, customer_ids, on_demand=True)
    known = set(column(inputs.customers, "customer_id").tolist())
    unknown = [c for c in customer_ids if c not in known]
    if unknown:
        shown = ", ".join(map(str, unknown[:10])) + (" …" if len(unknown) > 10 else "")
        raise NotFound(f"unknown customer{'s' if len(unknown) > 1 else ''}: {shown}")
    if as_of is None:
        raise PdeError("there is no banking data for these customers yet")
    ids = np.asarray(customer_ids, dtype=np.int64)
    decided, _ = score_ids(conn, settings, model, as_of, ids, (inputs, previous),
                           uplift=uplift or load_uplift(settings, conn))
    return {r["customer_id"]: r | {"as_of": as_of, "model_version": model.version, "source": "computed"}
            for r in as_records(decided)}


def score_customer(conn: Connection, settings: Settings, customer_id: int, model: PDModel | None = None,
                   as_of: date | None = None, reuse_stored: bool = True, uplift: UpliftModel | None = None
                   ) -> dict[str, Any]:
    """The current score, tier, reasons, next-best action and why of one customer (NotFound if unknown)."""
    return score_customers(conn, settings, [customer_id], model, as_of, reuse_stored, uplift)[0]


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
