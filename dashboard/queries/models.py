"""Model Performance reads: registered model versions with their evaluation metrics (curves included), the model
report, the uplift model versions."""

from __future__ import annotations

import json
from typing import Any

import pandas as pd
import streamlit as st

from dashboard.queries.core import TTL, engine, frame, settings

# champion first, then challengers (newest first), then retired
_ORDER = "CASE status WHEN 'champion' THEN 0 WHEN 'challenger' THEN 1 ELSE 2 END, created_at DESC"


def _json(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return {}
    return value if value is not None else {}


@st.cache_data(ttl=TTL, show_spinner=False)
def versions(include_retired: bool = False, limit: int = 12) -> pd.DataFrame:
    """Model versions (champion, challengers, optionally retired): version, status, kind, created, trainer,
    feature count and the metrics JSON as a dict."""
    cond = "" if include_retired else "WHERE status <> 'retired'"
    df = frame(f"""
        SELECT version, status, kind, created_at, trained_by, jsonb_array_length(feature_names) AS features,
               metrics FROM model_versions {cond} ORDER BY {_ORDER} LIMIT :n""", n=limit)
    if not df.empty:
        df["metrics"] = df["metrics"].map(_json)
    return df


@st.cache_data(ttl=TTL, show_spinner=False)
def promotions(limit: int = 20) -> pd.DataFrame:
    """Champion changes, newest first: version, previous champion, who and when."""
    return frame("SELECT version, previous_champion, promoted_by, promoted_at FROM model_promotions "
                 "ORDER BY promoted_at DESC LIMIT :n", n=limit)


@st.cache_data(ttl=TTL, show_spinner=False)
def uplift_versions(limit: int = 12) -> pd.DataFrame:
    """Uplift model versions (champion, challengers, retired): version, status, created, trainer, outcomes learned
    from, their plan dates, the PD model of the offsets, and the evaluation metrics JSON as a dict."""
    df = frame(f"""
        SELECT version, status, created_at, trained_by, outcomes, trained_from, trained_until, pd_model_version,
               metrics FROM uplift_versions ORDER BY {_ORDER} LIMIT :n""", n=limit)
    if not df.empty:
        df["metrics"] = df["metrics"].map(_json)
    return df


@st.cache_data(ttl=TTL, show_spinner=False)
def uplift_promotions(limit: int = 20) -> pd.DataFrame:
    """Uplift champion changes, newest first: version, previous champion, who and when."""
    return frame("SELECT version, previous_champion, promoted_by, promoted_at FROM uplift_promotions "
                 "ORDER BY promoted_at DESC LIMIT :n", n=limit)


SUMMARY_METRICS: tuple[tuple[str, str, str], ...] = (
    # key, label, format kind (pct, num, money)
    ("oot_auc", "AUC (out of time)", "num"),
    ("oot_pr_auc", "PR-AUC (out of time)", "num"),
    ("cv_auc_mean", "CV AUC (mean)", "num"),
    ("cv_auc_std", "CV AUC (std)", "num"),
    ("ceiling_auc", "Best possible AUC", "num"),
    ("brier", "Brier score", "num"),
    ("ece", "Calibration error (ECE)", "num"),
    ("threshold", "Decision threshold", "num"),
    ("precision_at_threshold", "Precision at threshold", "pct"),
    ("recall_at_threshold", "Recall at threshold", "pct"),
    ("precision_top5", "Precision in top 5 %", "pct"),
    ("recall_top5", "Recall in top 5 %", "pct"),
    ("expected_cost", "Expected cost at threshold", "money"),
    ("expected_cost_at_0_5", "Expected cost at 0.5", "money"),
    ("expected_cost_no_model", "Expected cost without model", "money"),
)


@st.cache_data(ttl=TTL, show_spinner=False)
def model_report(version: str) -> str:
    """The version's model report as self-contained HTML (report.model.model_report_html)."""
    from predelinquency.report.model import model_report_html  # loads the charting stack: only when asked

    with engine().connect() as conn:
        return model_report_html(conn, settings(), version)


@st.cache_data(ttl=TTL, show_spinner=False)
def model_report_pdf(version: str) -> bytes:
    """The version's model report as PDF."""
    from predelinquency.report.model import model_report_pdf as to_pdf

    return to_pdf(model_report(version))
