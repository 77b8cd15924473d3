"""Each nightly run's performance: expected from its calibrated PDs the night it scores, realised from the labels
once its outcome window has closed, and the retrain and fairness alerts they raise (`pde monitor`).

The population is the training label's: the customers scored at as_of with an instalment due in
(as_of, as_of + outcome_days]; a run's label is "one of them was missed". The expected figures describe those
customers as the payment schedule knows them at as_of (all scored customers when it knows none); the realised ones
are read once the data reach as_of + outcome_days + grace_days, when every such payment is decided, and are set
once (a re-run of the same (as_of, model) scores anew, so it is realised anew).
"""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import polars as pl
from sqlalchemy import Connection, text

from predelinquency.model.fairness import fairness_figures
from predelinquency.model.performance import expected_figures, realised_figures
from predelinquency.model.psi import psi_band
from predelinquency.scoring.fairness import run_frame
from predelinquency.settings import Settings

RUNS_SHOWN = 120

# each customer with an instalment due in the run's outcome window: 1 when one was missed (0 while pending)
_LABELS = """
SELECT customer_id, max(CASE WHEN status = 'missed' THEN 1 ELSE 0 END) AS label FROM payments
WHERE due_date > CAST(:d AS date) AND due_date <= CAST(:d AS date) + CAST(:w AS integer)
GROUP BY customer_id
"""


# customers with an instalment scheduled in [as_of, as_of + outcome_days], as the payments know it at as_of
_SCHEDULED = """
SELECT DISTINCT customer_id FROM payments
WHERE due_date >= CAST(:d AS date) AND due_date <= CAST(:d AS date) + CAST(:w AS integer)
"""


def labelled_frame(conn: Connection, settings: Settings, as_of: date, model_version: str) -> pl.DataFrame:
    """The run's customers as model.fairness.fairness_figures reads them (scoring.fairness.run_frame), with the
    training label: null when no instalment is due in the outcome window, 0 while one is pending."""
    result = conn.execute(text(_LABELS), {"d": as_of, "w": settings.features.outcome_days})
    labels = pl.DataFrame(result.all(), schema={"customer_id": pl.Int64, "label": pl.Int8}, orient="row")
    return (run_frame(conn, settings, as_of, model_version).drop("label")
            .join(labels, on="customer_id", how="left", maintain_order="left"))


def _json(value: Any) -> str | None:
    return None if value is None else json.dumps(value, default=str)


def record_expected(conn: Connection, settings: Settings, as_of: date, model_version: str, run_id: int | None,
                    psi: dict[str, Any] | None, fairness: dict[str, Any] | None) -> dict[str, Any]:
    """Stores the run's expected AUC and default rate (from its PDs alone), drift and fairness; returns them.

    A re-run of the same (as_of, model) replaces the row, realised figures included: its scores are new.
    """
    frame = labelled_frame(conn, settings, as_of, model_version)
    # the schedule holds each product's next instalment only: one due on as_of itself is followed by another in the
    # window, so its customer is at risk too
    due = conn.execute(text(_SCHEDULED), {"d": as_of, "w": settings.features.outcome_days}).scalars().all()
    at_risk = frame.filter(pl.col("customer_id").is_in(due))
    population = at_risk if at_risk.height else frame
    figures = expected_figures(population["pd"].to_numpy())
    conn.execute(text("""
        INSERT INTO run_performance (as_of, model_version, run_id, rows, at_risk_rows, expected_auc, expected_auc_se,
                                     expected_default_rate, psi, fairness)
        VALUES (:d, :v, :run, :rows, :at_risk, :auc, :se, :rate, CAST(:psi AS jsonb), CAST(:fair AS jsonb))
        ON CONFLICT (as_of, model_version) DO UPDATE SET
            run_id = EXCLUDED.run_id, rows = EXCLUDED.rows, at_risk_rows = EXCLUDED.at_risk_rows,
            expected_auc = EXCLUDED.expected_auc, expected_auc_se = EXCLUDED.expected_auc_se,
            expected_default_rate = EXCLUDED.expected_default_rate, psi = EXCLUDED.psi,
            fairness = EXCLUDED.fairness, recorded_at = now(), realised_on = NULL, labelled_rows = NULL,
            realised_auc = NULL, realised_default_rate = NULL, realised_calibration = NULL, realised_fairness = NULL
        """), {"d": as_of, "v": model_version, "run": run_id, "rows": frame.height, "at_risk": at_risk.height,
               "auc": figures["expected_auc"], "se": figures["expected_auc_se"],
               "rate": figures["expected_default_rate"], "psi": _json(psi), "fair": _json(fairness)})
    return {"as_of": as_of.isoformat(), "model_version": model_version, "rows": frame.height,
            "at_risk_rows": at_risk.height, **{k: v for k, v in figures.items() if k != "rows"}}


def realise_closed_runs(conn: Connection, settings: Settings, last_day: date, today: date) -> dict[str, Any]:
    """Realises every recorded run whose outcome window the data (up to last_day) have closed, once each;
    returns how many and which."""
    open_runs = conn.execute(text(
        "SELECT as_of, model_version FROM run_performance WHERE realised_on IS NULL "
        "AND as_of <= CAST(:last AS date) - CAST(:lag AS integer) ORDER BY as_of, model_version"),
        {"last": last_day, "lag": settings.features.outcome_days + settings.simulation.grace_days}).all()
    done = []
    for as_of, version in open_runs:
        frame = labelled_frame(conn, settings, as_of, version)
        labelled = frame.filter(pl.col("label").is_not_null())
        figures = realised_figures(labelled["label"].to_numpy(), labelled["pd"].to_numpy())
        fairness = fairness_figures(frame.drop("customer_id"), settings.governance, f"realised {as_of}")
        conn.execute(text("""
            UPDATE run_performance SET realised_on = :today, labelled_rows = :n, realised_auc = :auc,
                   realised_default_rate = :rate, realised_calibration = CAST(:cal AS jsonb),
                   realised_fairness = CAST(:fair AS jsonb)
            WHERE as_of = :d AND model_version = :v AND realised_on IS NULL"""),
            {"today": today, "n": figures["labelled_rows"], "auc": figures["realised_auc"],
             "rate": figures["realised_default_rate"], "cal": _json(figures["realised_calibration"]),
             "fair": _json(fairness), "d": as_of, "v": version})
        done.append({"as_of": as_of.isoformat(), "model_version": version, "labelled_rows": figures["labelled_rows"],
                     "realised_auc": figures["realised_auc"]})
    return {"realised": len(done), "runs": done}


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _psi_figures(psi: Any) -> dict[str, Any]:
    """Score PSI, its band, and the most drifted feature of a run's stored PSI."""
    psi = psi if isinstance(psi, dict) else {}
    features = {k: v for k, v in (psi.get("features") or {}).items() if _number(v) is not None}
    worst = max(features.items(), key=lambda kv: kv[1], default=(None, None))
    score = _number(psi.get("score"))
    return {"score_psi": score, "score_psi_band": psi_band(score) if score is not None else None,
            "worst_feature": worst[0], "worst_feature_psi": worst[1]}


def _alerts_of(figures: Any) -> list[dict[str, Any]]:
    return [a for a in (figures or {}).get("alerts") or [] if isinstance(a, dict)] if isinstance(figures, dict) else []


def _fairness_alert(a: dict[str, Any], run: dict[str, Any], source: str) -> dict[str, Any]:
    metric = "adverse-impact ratio" if a.get("metric") == "adverse_impact_ratio" else "true-positive-rate gap"
    side = "below" if a.get("metric") == "adverse_impact_ratio" else "above"
    value, limit = _number(a.get("value")), _number(a.get("limit"))
    return {"kind": "fairness", "source": source, "as_of": run["as_of"], "model_version": run["model_version"],
            "attribute": a.get("attribute"), "group": a.get("group"), "metric": a.get("metric"), "value": value,
            "limit": limit, "message": f"{a.get('attribute')} = {a.get('group')}: {metric} "
                                       f"{'—' if value is None else f'{value:.2f}'} {side} the limit "
                                       f"{'—' if limit is None else f'{limit:.2f}'} ({source} figures of the run of "
                                       f"{run['as_of']}, {run['model_version']})"}


def performance_alerts(runs: list[dict[str, Any]], champion: str | None, floor: float) -> list[dict[str, Any]]:
    """The retrain alert (the model's newest expected, or newest realised, AUC below the floor) and the fairness
    alerts of its newest run and newest realised run; runs newest first, of the champion (else the newest model)."""
    model = champion or (runs[0]["model_version"] if runs else None)
    mine = [r for r in runs if r["model_version"] == model]
    alerts: list[dict[str, Any]] = []
    newest = next((r for r in mine if r["expected_auc"] is not None), None)
    realised = next((r for r in mine if r["realised_auc"] is not None), None)
    for run, source in ((newest, "expected"), (realised, "realised")):
        if run is not None and run[f"{source}_auc"] < floor:
            alerts.append({"kind": "retrain", "source": source, "as_of": run["as_of"], "model_version": model,
                           "metric": f"{source}_auc", "value": run[f"{source}_auc"], "limit": floor,
                           "message": f"retrain: the {source} AUC of the run of {run['as_of']} "
                                      f"({run[f'{source}_auc']:.3f}, {model}) is below the floor {floor:.2f}"})
    if mine:
        alerts += [_fairness_alert(a, mine[0], "nightly") for a in _alerts_of(mine[0]["fairness"])]
    if realised is not None:
        alerts += [_fairness_alert(a, realised, "realised") for a in _alerts_of(realised["realised_fairness"])]
    return alerts


def performance_runs(conn: Connection, limit: int = RUNS_SHOWN) -> list[dict[str, Any]]:
    """Recorded runs, newest first: expected and realised figures, drift and fairness as stored."""
    rows = conn.execute(text("""
        SELECT as_of, model_version, run_id, rows, at_risk_rows, expected_auc, expected_auc_se, expected_default_rate,
               psi, fairness, realised_on, labelled_rows, realised_auc, realised_default_rate, realised_calibration,
               realised_fairness
        FROM run_performance ORDER BY as_of DESC, recorded_at DESC LIMIT :n"""), {"n": limit}).mappings().all()
    out = []
    for r in rows:
        run = dict(r)
        run["as_of"] = r["as_of"].isoformat()
        run["realised_on"] = r["realised_on"].isoformat() if r["realised_on"] else None
        run.update(_psi_figures(run.pop("psi")))
        out.append(run)
    return out


def monitor_report(conn: Connection, settings: Settings) -> dict[str, Any]:
    """`pde monitor`: every recorded nightly run, newest first, with its expected and realised figures and drift,
    and the alerts they raise (retrain below governance.auc_floor; fairness beyond its limits)."""
    runs = performance_runs(conn)
    champion = conn.execute(text("SELECT version FROM model_versions WHERE status = 'champion'")).scalar()
    floor = settings.governance.auc_floor
    alerts = performance_alerts(runs, champion, floor)
    for run in runs:  # a run's own figures carry their counts, not the whole structure, in the listing
        run["fairness_alerts"] = len(_alerts_of(run.pop("fairness")))
        run["realised_fairness_alerts"] = len(_alerts_of(run.pop("realised_fairness")))
    return {"auc_floor": floor, "champion": champion, "runs": runs, "alerts": alerts}
