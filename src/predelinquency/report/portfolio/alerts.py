"""The portfolio's alerts: drift (PSI) and fairness alerts of the week's scoring runs."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import pandas as pd
from sqlalchemy import Connection, text

from predelinquency.model.psi import psi_band
from predelinquency.report.portfolio.query import query_frame


def _metrics(value: Any) -> dict[str, Any]:
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return {}
    return value if isinstance(value, dict) else {}


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def week_runs(conn: Connection, start: date, end: date) -> pd.DataFrame:
    """The week's successful scoring jobs (nightly, or advance on the synthetic bank) and their metrics."""
    return query_frame(conn, """
        SELECT run_id, kind, metrics FROM batch_runs
        WHERE kind IN ('nightly', 'advance') AND status = 'succeeded' AND metrics ? 'as_of'
          AND (metrics ->> 'as_of')::date BETWEEN :s AND :e
        ORDER BY (metrics ->> 'as_of')::date, run_id""", s=start, e=end)


def drift_table(runs: pd.DataFrame) -> pd.DataFrame:
    """PSI of the score and the features per run of the week, with their bands (model/psi.psi_band)."""
    out = []
    for r in runs.itertuples():
        m = _metrics(r.metrics)
        psi = m.get("psi") if isinstance(m.get("psi"), dict) else {}
        if not psi:
            continue
        score = _number(psi.get("score"))
        feats = {str(k): v for k, v in (psi.get("features") or {}).items() if _number(v) is not None}
        bands = [psi_band(float(v)) for v in feats.values()]
        worst = max(feats.items(), key=lambda kv: kv[1], default=(None, None))
        out.append({"Run": int(r.run_id), "Job": r.kind, "Scored on": date.fromisoformat(m["as_of"]),
                    "Model": m.get("model_version"), "Score PSI": score,
                    "Score band": psi_band(score) if score is not None else None,
                    "Features stable": bands.count("stable"), "Features watch": bands.count("watch"),
                    "Features retrain": bands.count("retrain"),
                    "Behavioural features to retrain on": len(psi.get("retrain") or []), "Worst feature": worst[0],
                    "Worst feature PSI": worst[1],
                    "Worst feature band": psi_band(float(worst[1])) if worst[1] is not None else None})
    cols = ["Run", "Job", "Scored on", "Model", "Score PSI", "Score band", "Features stable", "Features watch",
            "Features retrain", "Behavioural features to retrain on", "Worst feature", "Worst feature PSI",
            "Worst feature band"]
    return pd.DataFrame(out, columns=cols)


def _alerts_of(fairness: Any) -> list[dict[str, Any]]:
    f = _metrics(fairness)
    alerts = f.get("alerts")
    return [a for a in alerts if isinstance(a, dict)] if isinstance(alerts, list) else []


def fairness_alerts(conn: Connection, runs: pd.DataFrame, start: date, end: date) -> pd.DataFrame:
    """Fairness alerts of the week's runs: per scoring date from run_performance (scored and realised figures)
    where that table exists, else from the runs' own metrics."""
    found: dict[tuple, dict[str, Any]] = {}

    def add(as_of: Any, model: Any, figures: str, fairness: Any) -> None:
        for a in _alerts_of(fairness):
            row = {"Scored on": as_of if isinstance(as_of, date) else date.fromisoformat(str(as_of)),
                   "Model": model, "Figures": figures, "Attribute": a.get("attribute"), "Group": a.get("group"),
                   "Metric": a.get("metric"), "Value": _number(a.get("value")), "Limit": _number(a.get("limit"))}
            found.setdefault(tuple(row[k] for k in ("Scored on", "Model", "Figures", "Attribute", "Group",
                                                      "Metric")), row)

    if conn.execute(text("SELECT to_regclass('run_performance') IS NOT NULL")).scalar_one():
        perf = query_frame(conn, """SELECT as_of, model_version, fairness, realised_fairness FROM run_performance
                              WHERE as_of BETWEEN :s AND :e ORDER BY as_of, model_version""", s=start, e=end)
        for r in perf.itertuples():
            add(r.as_of, r.model_version, "scored", r.fairness)
            add(r.as_of, r.model_version, "realised", r.realised_fairness)
    for r in runs.itertuples():
        m = _metrics(r.metrics)
        add(m["as_of"], m.get("model_version"), "scored", m.get("fairness"))
    cols = ["Scored on", "Model", "Figures", "Attribute", "Group", "Metric", "Value", "Limit"]
    return pd.DataFrame(list(found.values()), columns=cols).sort_values(
        ["Scored on", "Model", "Figures", "Attribute", "Group", "Metric"]).reset_index(drop=True)
