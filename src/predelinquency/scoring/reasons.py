"""Reason codes: the top risk-raising drivers per customer, in plain language with the customer's values."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

TOP_K = 3


def _text(template: str, description: str, value: float) -> str:
    """The feature's sentence with the customer's value, or its description when the value is missing."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return description
    try:
        return template.format(value=value)
    except (ValueError, KeyError, IndexError):
        return f"{description}: {value:g}"


def reason_codes(contributions: np.ndarray, values: np.ndarray, feature_names: list[str],
                 spec_of: Callable[[str], Any], k: int = TOP_K) -> list[list[dict[str, Any]]]:
    """Per customer, up to k reasons ordered by contribution to the log-odds of missing a payment.

    Only features that RAISE the risk count as reasons: an officer asks "why is this customer risky",
    so a protective factor is never given as a reason.
    """
    n, f = contributions.shape
    k = min(k, f)
    # top-k per row without a full sort
    idx = np.argpartition(-contributions, k - 1, axis=1)[:, :k] if f > k else np.tile(np.arange(f), (n, 1))
    top = np.take_along_axis(contributions, idx, axis=1)
    order = np.argsort(-top, axis=1)
    idx = np.take_along_axis(idx, order, axis=1)
    top = np.take_along_axis(top, order, axis=1)
    vals = np.take_along_axis(values, idx, axis=1)
    out: list[list[dict[str, Any]]] = []
    for row_idx, row_contrib, row_vals in zip(idx.tolist(), top.tolist(), vals.tolist(), strict=True):
        reasons = []
        for j, c, v in zip(row_idx, row_contrib, row_vals, strict=True):
            if c <= 0:
                break
            spec = spec_of(feature_names[j])
            value = None if v is None or (isinstance(v, float) and math.isnan(v)) else round(float(v), 4)
            reasons.append({
                "code": spec.name.upper(),
                "feature": spec.name,
                "family": spec.family,
                "value": value,
                "contribution": round(float(c), 4),
                "text": _text(spec.reason_template, spec.description, v),
            })
        out.append(reasons)
    return out
