"""Section 6 of the model report: score and feature PSI of the nightly runs, expected against realised performance."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from predelinquency.features.registry import CALENDAR_FEATURES
from predelinquency.model.psi import RETRAIN_ABOVE, WATCH_FROM
from predelinquency.report import html as H
from predelinquency.report.model.figures import NAVY, ORANGE, SECTIONS
from predelinquency.settings import Settings

# feature PSI rows shown per report: the columns that moved most, the rest are stable or in the registry row
FEATURE_PSI_ROWS = 15


def _psi_chart(runs: list[dict[str, Any]]) -> str:
    fig, ax = H.new_figure(7.5, 2.8)
    days = [r.get("as_of") for r in runs]
    ax.plot(days, [r["psi"].get("score") for r in runs], marker="o", markersize=3.5, color=NAVY, label="score")
    ax.axhline(WATCH_FROM, color=ORANGE, linestyle="--", linewidth=0.8, label="watch")
    ax.axhline(RETRAIN_ABOVE, color="#9b1c1c", linestyle="--", linewidth=0.8, label="retrain")
    ax.set(ylabel="PSI", title="Score PSI per nightly run (by as-of date)")
    ax.tick_params(axis="x", labelrotation=30)
    ax.legend(fontsize=8)
    return H.chart(fig, "Score PSI per nightly run", wide=True)


def _expected_vs_realised(perf: list[dict[str, Any]], floor: float) -> str:
    """Expected (from the PDs alone) and realised AUC per scored day, with the retrain floor."""
    if not perf:
        return ""
    fig, ax = H.new_figure(7.5, 2.8)
    days = [r["as_of"] for r in perf]
    for key, label, marker, colour in (("expected_auc", "expected AUC", "o", NAVY),
                                       ("realised_auc", "realised AUC", "s", ORANGE)):
        values = [math.nan if r[key] is None else r[key] for r in perf]  # not known yet: a gap in the line
        ax.plot(days, values, marker=marker, markersize=3, color=colour, label=label)
    ax.axhline(floor, color="#9b1c1c", linestyle="--", linewidth=0.8, label="AUC floor")
    ax.set(ylabel="AUC", title="Expected and realised AUC per scored day")
    ax.tick_params(axis="x", labelrotation=30)
    ax.legend(fontsize=8)
    table = H.table(perf, {"as_of": "As of", "rows": "Customers", "expected_auc": "Expected AUC",
                           "expected_default_rate": "Expected default rate", "labelled_rows": "Labelled",
                           "realised_auc": "Realised AUC", "realised_default_rate": "Realised default rate"},
                    source=lambda _, r, c: f"run_performance.{r['as_of']}.{c}")
    return ("<h3>Performance before and after the labels arrive</h3>"
            + H.paragraph(f"Expected figures come from the calibrated PDs alone; realised ones once a day's "
                          f"outcome window has closed. The retrain alert fires below AUC {H.fmt(floor, 2)}.", "note")
            + H.chart(fig, "Expected and realised AUC", wide=True) + table)


def stability_section(row: dict[str, Any], runs: list[dict[str, Any]], perf: list[dict[str, Any]],
                      settings: Settings) -> str:
    """Score and feature PSI of the nightly runs scored with the version while it was champion, and its
    expected against realised performance."""
    runs = [r for r in runs if r.get("psi")]
    performance = _expected_vs_realised(perf, settings.governance.auc_floor)
    if not runs:
        return H.section("stability", SECTIONS["stability"], H.paragraph(
            "No nightly run has scored with this version while it was champion: there is no stability figure yet."),
            performance)
    per_run = [{"run_id": r["run_id"], "as_of": r.get("as_of"), "rows": r.get("rows"), "score": r["psi"].get("score"),
                "score_band": r["psi"].get("score_band"), "retrain": ", ".join(r["psi"].get("retrain", [])) or "–"}
               for r in runs]
    run_table = H.table(per_run, {"run_id": "Run", "as_of": "As of", "rows": "Customers", "score": "Score PSI",
                                  "score_band": "Band", "retrain": "Behavioural features beyond the retrain band"},
                        source=lambda _, r, c: {"rows": f"runs.{r['run_id']}.rows",
                                                "score": f"runs.{r['run_id']}.psi.score"}.get(c),
                        widths={"run_id": "7%", "as_of": "12%", "rows": "11%", "score": "11%", "score_band": "9%",
                                "retrain": "50%"})
    feats: dict[str, list[float]] = {}
    for r in runs:
        for name, v in (r["psi"].get("features") or {}).items():
            feats.setdefault(name, []).append(v)
    model_features = set(row["feature_names"])
    ranked = sorted(feats.items(), key=lambda kv: -max(kv[1]))[:FEATURE_PSI_ROWS]
    feat_rows = [{"feature": n, "in_model": "yes" if n in model_features else "no",
                  "calendar": "yes" if n in CALENDAR_FEATURES else "no", "latest": v[-1], "max": max(v),
                  "mean": float(np.mean(v))} for n, v in ranked]
    last = runs[-1]["run_id"]
    intro = (f"{H.figure(len(runs), 'derived.stability_runs')} nightly run(s) scored with this version while it was "
             f"champion. PSI bands: below {H.fmt(WATCH_FROM, 2)} stable, up to {H.fmt(RETRAIN_ABOVE, 2)} watch, above "
             "it retrain. Calendar features move with the date (where it falls in pay and bill cycles) and never ask "
             "for a retrain on their own.")
    return H.section("stability", SECTIONS["stability"], H.paragraph(intro), _psi_chart(runs), run_table,
                     f"<h3>Features that moved most ({len(feat_rows)} of {len(feats)})</h3>",
                     H.table(feat_rows, {"feature": "Feature", "in_model": "In the model", "calendar": "Calendar",
                                         "latest": "Latest PSI", "max": "Max PSI", "mean": "Mean PSI"},
                             source=lambda _, r, c: f"runs.{last}.psi.features.{r['feature']}" if c == "latest"
                             else None,
                             widths={"feature": "40%", "in_model": "11%", "calendar": "10%", "latest": "13%",
                                     "max": "13%", "mean": "13%"}),
                     performance)
