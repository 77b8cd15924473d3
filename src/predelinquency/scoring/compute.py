"""Scoring loaded inputs: features, PD with its reasons, and the decisions; shared by the nightly and on demand."""

from __future__ import annotations

from datetime import date
from functools import lru_cache
from typing import Any

import numpy as np
from sqlalchemy import Connection

from predelinquency.db.inputs import FeatureInputs, load_scoring_inputs
from predelinquency.errors import PdeError
from predelinquency.features.build import feature_matrix
from predelinquency.features.registry import FEATURE_NAMES
from predelinquency.features.window import build_panel
from predelinquency.model.pd_model import PDModel
from predelinquency.model.uplift.model import UpliftModel
from predelinquency.scoring.decide import decide
from predelinquency.settings import Settings
from predelinquency.table import Table

_REGISTRY_POSITION = {name: i for i, name in enumerate(FEATURE_NAMES)}


def model_columns(model: PDModel) -> np.ndarray:
    """Positions of the model's features among the registered ones; PdeError when this code lacks one."""
    try:
        return _positions(tuple(model.feature_names))
    except KeyError:
        missing = [n for n in model.feature_names if n not in _REGISTRY_POSITION]
        raise PdeError(f"model {model.version} needs features this code does not compute: "
                       f"{', '.join(missing[:5])}") from None


@lru_cache(maxsize=16)
def _positions(names: tuple[str, ...]) -> np.ndarray:
    """Registry positions of these names (KeyError for an unknown one), computed once per feature list
    (read-only: the result is shared)."""
    out = np.array([_REGISTRY_POSITION[n] for n in names], dtype=np.int64)
    out.flags.writeable = False
    return out


def score_ids(conn: Connection, settings: Settings, model: PDModel, as_of: date, customer_ids: np.ndarray,
              loaded: tuple[FeatureInputs, Table] | None = None, *, uplift: UpliftModel
              ) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """(decide's columns, every registered feature's values by name) for these customers at as_of.

    loaded: load_scoring_inputs of exactly these customers (default: loaded here). uplift: the uplift model the
    run loaded once (model/uplift/registry.load_uplift), which picks the next-best action.
    """
    inputs, previous = loaded or load_scoring_inputs(conn, as_of, customer_ids.tolist())
    panel = build_panel(inputs.daily, customer_ids)
    matrix = feature_matrix(panel, as_of, inputs.customers, inputs.accounts, inputs.payments,
                            grace_days=settings.simulation.grace_days)
    X = matrix[:, model_columns(model)]
    pd_, contrib = model.explain(X)
    by_name = dict(zip(FEATURE_NAMES, matrix.T, strict=True))
    decided = decide(panel.customer_ids, pd_, contrib, X, model.feature_names, by_name, inputs.accounts,
                     previous, as_of, settings, uplift)
    return decided, by_name
