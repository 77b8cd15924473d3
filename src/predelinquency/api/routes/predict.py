"""POST /predict and /batch-predict: fresh scores from the database's latest data, or a feature payload."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
from fastapi import APIRouter
from fastapi.exceptions import RequestValidationError
from sqlalchemy import Connection

from predelinquency.api.deps import Authenticated, State
from predelinquency.api.errors import Unavailable, responses
from predelinquency.api.schemas import BatchPrediction, BatchPredictRequest, Prediction, PredictRequest
from predelinquency.api.state import ApiState
from predelinquency.operations.accounts import User

if TYPE_CHECKING:  # the model libraries load with the champion (at start-up), not when the app is imported
    from predelinquency.model.pd_model import PDModel

router = APIRouter(tags=["scoring"])
MAX_UNKNOWN_NAMED = 20


def plain(value: Any) -> Any:
    """The value with numpy scalars and arrays turned into Python ones (for the response models)."""
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, np.ndarray):
        return [plain(v) for v in value.tolist()]
    if isinstance(value, np.generic):
        return value.item()
    return value


def check_feature_names(names: list[str], known: list[str], version: str | None) -> None:
    """Returns nothing; 422 naming each feature the model does not know (up to MAX_UNKNOWN_NAMED of them)."""
    known_set = set(known)
    unknown = [n for n in names if n not in known_set]
    if unknown:
        raise RequestValidationError([
            {"loc": ("body", "features", name), "type": "unknown_feature", "input": name,
             "msg": f"unknown feature {name!r}: neither the champion model {version} nor the feature registry "
                    "has a feature of that name"}
            for name in unknown[:MAX_UNKNOWN_NAMED]])


def champion(state: ApiState, conn: Connection) -> PDModel:
    """The champion if it scores customers' behaviour; Unavailable (503) when it is a model of another table."""
    model = state.champion.get(conn)
    if model.kind != "behavioural":
        raise Unavailable(f"the champion model {model.version} is a {model.kind} model trained on another table "
                          f"(pde train --data); scoring customers needs a behavioural model: pde train, then "
                          f"pde model promote VERSION")
    return model


@router.post("/predict", response_model=Prediction, responses=responses(400, 404, 503))
async def predict(body: PredictRequest, caller: Authenticated, state: State) -> dict[str, Any]:
    """Score one customer from the database (`customer_id`) or a feature payload (`features`).

    A customer is scored as of the day after their latest data, with score, tier, reasons and the recommended
    action: the nightly run's stored row while nothing it was computed from has changed (`source: nightly`,
    identical to scoring now), else computed now (`source: computed`). A payload is scored with the champion
    model, missing features counting as unknown.
    """
    def work(conn: Connection, user: User) -> dict[str, Any]:
        from predelinquency.scoring.single import score_customer, score_feature_payload  # with the model libraries

        model = champion(state, conn)
        if body.customer_id is not None:
            return plain(score_customer(conn, state.settings, body.customer_id, model=model))
        from predelinquency.features.registry import FEATURE_NAMES

        # any registered feature is accepted (policy rules may read ones the model does not)
        check_feature_names(list(body.features), [*model.feature_names, *FEATURE_NAMES], model.version)
        return plain(score_feature_payload(state.settings, model, dict(body.features)))
    return await caller.read(work)


@router.post("/batch-predict", response_model=BatchPrediction, responses=responses(400, 404, 503))
async def batch_predict(body: BatchPredictRequest, caller: Authenticated, state: State) -> dict[str, Any]:
    """Score up to 1,000 customers in one call, in the order given (a repeated id is scored once)."""
    ids = list(dict.fromkeys(body.customer_ids))

    def work(conn: Connection, user: User) -> dict[str, Any]:
        from predelinquency.scoring.single import score_customers

        model = champion(state, conn)
        results = plain(score_customers(conn, state.settings, ids, model=model))
        return {"model_version": model.version, "count": len(results), "results": results}
    return await caller.read(work)
