"""The model report a validator signs: one self-contained HTML document (and its PDF) per model version.

Sections: purpose and scope, data, features, method, out-of-time performance, stability, fairness, comparison
with the champion at the time, limitations. Every figure is read from the version's registry row
(`model_versions.params` / `.metrics`), the nightly runs in `batch_runs`, the promotions and the bank's data;
printed figures carry `data-figure` naming their source (see report/html.py). Nothing here computes a model
metric: what training did not record is said to be missing.
"""

from __future__ import annotations

import math
from datetime import date, datetime
from itertools import pairwise
from typing import Any

import numpy as np
from sqlalchemy import Connection, text

from predelinquency.domain.daily import WINDOW_DAYS
from predelinquency.features.registry import CALENDAR_FEATURES, REGISTRY
from predelinquency.model.psi import RETRAIN_ABOVE, WATCH_FROM
from predelinquency.model.registry import get_version
from predelinquency.report import html as H
from predelinquency.settings import Settings

SECTIONS = {
    "purpose": "1. Purpose and scope",
    "data": "2. Data",
    "features": "3. Features",
    "method": "4. Method",
    "performance": "5. Out-of-time performance",
    "stability": "6. Stability since it became champion",
    "fairness": "7. Fairness",
    "comparison": "8. Comparison with the champion at the time",
    "limitations": "9. Limitations",
}
# feature PSI rows shown per report: the columns that moved most, the rest are stable or in the registry row
FEATURE_PSI_ROWS = 15
NAVY, ORANGE, GREY = "#13315c", "#e07a1f", "#8a94a3"


def _get(tree: Any, path: str) -> Any:
    """The value at a dotted path in nested dicts and lists; None when any step is missing."""
    for step in path.split("."):
        if isinstance(tree, dict):
            tree = tree.get(step)
        elif isinstance(tree, list) and step.isdigit() and int(step) < len(tree):
            tree = tree[int(step)]
        else:
            return None
    return tree


def _f(row: dict[str, Any], path: str, digits: int = 4) -> str:
    """A registry figure of the version ('metrics.oot_auc', 'params.split.test.rows'), tagged with its path."""
    return H.figure(_get(row, path), path, digits)


def _champion_periods(conn: Connection, row: dict[str, Any]) -> list[tuple[datetime, datetime | None]]:
    """When the version was champion: from registration (as the first model) or each promotion to it, until the
    promotion that replaced it (None: still champion)."""
    moves = conn.execute(text("SELECT version, previous_champion, promoted_at FROM model_promotions "
                              "WHERE version = :v OR previous_champion = :v ORDER BY promoted_at, promotion_id"),
                         {"v": row["version"]}).all()
    periods: list[tuple[datetime, datetime | None]] = []
    start: datetime | None = None
    first_was_demotion = bool(moves) and moves[0].version != row["version"]
    if first_was_demotion or (not moves and row["status"] == "champion"):
        start = row["created_at"]  # registered as the first model: champion from the start
    for m in moves:
        if m.version == row["version"]:
            start = m.promoted_at
        elif start is not None:
            periods.append((start, m.promoted_at))
            start = None
    if start is not None:
        periods.append((start, None))
    return periods


def _runs(conn: Connection, version: str, periods: list[tuple[datetime, datetime | None]]) -> list[dict[str, Any]]:
    """The succeeded nightly runs scored with the version while it was champion, oldest first."""
    rows = conn.execute(text(
        "SELECT run_id, created_at, metrics FROM batch_runs WHERE kind = 'nightly' AND status = 'succeeded' "
        "AND metrics->>'model_version' = :v ORDER BY created_at, run_id"), {"v": version}).all()
    inside = [r for r in rows if any(s <= r.created_at and (e is None or r.created_at < e) for s, e in periods)]
    return [{"run_id": r.run_id, "created_at": r.created_at, **r.metrics} for r in inside]


def _performance_runs(conn: Connection, version: str,
                      periods: list[tuple[datetime, datetime | None]]) -> list[dict[str, Any]]:
    """The version's run_performance rows (expected, and once known realised, AUC and default rate) recorded while
    it was champion, oldest first; none where that table does not exist yet."""
    if conn.execute(text("SELECT to_regclass('run_performance')")).scalar_one() is None:
        return []
    rows = conn.execute(text(
        "SELECT as_of, recorded_at, rows, expected_auc, expected_default_rate, labelled_rows, realised_auc, "
        "realised_default_rate FROM run_performance WHERE model_version = :v ORDER BY as_of"),
        {"v": version}).mappings().all()
    return [{**r, "as_of": r["as_of"].isoformat()} for r in rows
            if any(s <= r["recorded_at"] and (e is None or r["recorded_at"] < e) for s, e in periods)]


def _champion_at(conn: Connection, row: dict[str, Any]) -> dict[str, Any] | None:
    """The registry row of the champion when the version was registered; None when it was the first model."""
    promoted = conn.execute(text("SELECT version FROM model_promotions WHERE promoted_at <= :t "
                                 "ORDER BY promoted_at DESC, promotion_id DESC LIMIT 1"),
                            {"t": row["created_at"]}).scalar_one_or_none()
    if promoted is None:  # no promotion yet: the first model registered was champion
        promoted = conn.execute(text("SELECT version FROM model_versions WHERE created_at < :t "
                                     "ORDER BY created_at, version LIMIT 1"),
                                {"t": row["created_at"]}).scalar_one_or_none()
    if promoted is None or promoted == row["version"]:
        return None
    return get_version(conn, promoted)


# --- sections ----------------------------------------------------------------------------------------------------

def _purpose(row: dict[str, Any], settings: Settings, periods: list) -> str:
    p, s = row["params"], settings.scoring
    if row["kind"] == "behavioural":
        what = (f"Predicts, for every active customer each night, the probability (PD) that a payment due in the "
                f"next {settings.features.outcome_days} days is missed, from the customer's last {WINDOW_DAYS} "
                "days of banking behaviour. The PD becomes a score, a risk tier and a place in the officers' "
                "worklist; customers whose PD reaches the decision threshold are the ones worth contacting.")
    else:
        what = (f"Predicts the probability that <code>{H.esc(p.get('target'))}</code> is 1 for each row of a "
                f"bank's own table (<code>{H.esc(p.get('data'))}</code>), trained with <code>pde train --data"
                "</code> and applied with <code>pde predict</code>.")
    tiers = ", ".join(f"{name} from PD {H.fmt(v)}" for name, v in s.tiers.items())
    since = "; ".join(f"{H.fmt(a)} – {H.fmt(b) if b else 'now'}" for a, b in periods) or "never champion"
    return H.section("purpose", SECTIONS["purpose"], H.paragraph(what), H.key_values([
        ("Version", H.esc(row["version"])),
        ("Kind", H.esc(row["kind"])),
        ("Status", H.esc(row["status"])),
        ("Registered", H.esc(H.fmt(row["created_at"]))),
        ("Trained by", H.esc(row["trained_by"])),
        ("Champion", H.esc(since)),
        ("Decision threshold (PD)", _f(row, "metrics.threshold", 6)),
        ("Score scale", H.esc(f"{s.min_score}–{s.max_score}, {s.base_score} at odds {s.base_odds:g}:1, "
                              f"{s.points_to_double_odds:g} points to double the odds")),
        ("Risk tiers (settings)", H.esc(tiers)),
        ("Artifact sha256", f"<code>{H.esc(p.get('artifact_sha256', '–'))}</code>"),
    ]))


def _customers(conn: Connection, span: list[str]) -> int:
    """Customers with banking data in the training period."""
    return conn.execute(text("SELECT count(DISTINCT customer_id) FROM daily_balances WHERE day BETWEEN :a AND :b"),
                        {"a": date.fromisoformat(span[0]), "b": date.fromisoformat(span[1])}).scalar_one()


def _data(conn: Connection, row: dict[str, Any]) -> str:
    p = row["params"]
    split = p.get("split", {})
    parts = [{"part": part, **split[part]} for part in ("train", "validation", "test") if part in split]
    rows = sum(x["rows"] for x in parts)
    defaults = sum(x["defaults"] for x in parts)
    for x in parts:
        x["default_rate"] = x["defaults"] / x["rows"] if x["rows"] else None
    facts: list[tuple[str, str]] = []
    if row["kind"] == "behavioural" and p.get("data_span"):
        snaps = p.get("snapshots", [])
        steps = sorted({(date.fromisoformat(b) - date.fromisoformat(a)).days for a, b in pairwise(snaps)})
        facts += [("Data period", f"{_f(row, 'params.data_span.0')} to {_f(row, 'params.data_span.1')}"),
                  ("Customers with data in the period", H.figure(_customers(conn, p["data_span"]), "db.customers")),
                  ("Snapshots", f"{H.figure(len(snaps), 'derived.snapshots')} ({_f(row, 'params.snapshots.0')} to "
                                f"{H.figure(snaps[-1] if snaps else None, f'params.snapshots.{len(snaps) - 1}')}, "
                                f"every {', '.join(map(str, steps))} days)"),
                  ("Snapshot rows (customer × date)", _f(row, "params.rows"))]
    else:
        facts += [("Table", f"<code>{H.esc(p.get('data', '–'))}</code>"),
                  ("Target · id · time columns", H.esc(f"{p.get('target')} · {p.get('id_column') or '–'} · "
                                                       f"{p.get('time_column') or '–'}")),
                  ("Rows", _f(row, "params.rows")),
                  ("Columns empty in every row (left out)", H.esc(", ".join(p.get("empty_columns") or []) or "none"))]
    facts += [("Rows used (train + validation + test)", H.figure(rows, "derived.rows_used")),
              ("Defaults among them", H.figure(defaults, "derived.defaults")),
              ("Default rate", H.figure(defaults / rows if rows else None, "derived.default_rate")),
              ("Split", H.esc(split.get("kind", "–")))]
    if split.get("kind") == "out_of_time":
        facts.append(("Out-of-time test window", f"{_f(row, 'params.split.test.first')} to "
                                                 f"{_f(row, 'params.split.test.last')} "
                                                 f"({_f(row, 'params.split.test.groups')} periods, after a gap of "
                                                 f"{_f(row, 'params.gap_groups')} periods)"))
    cols = {"part": "Part", "rows": "Rows", "defaults": "Defaults", "default_rate": "Default rate"}
    if split.get("kind") == "out_of_time":
        cols |= {"first": "First period", "last": "Last period", "groups": "Periods"}
    def source(_: int, r: dict[str, Any], c: str) -> str | None:
        return None if c == "default_rate" else f"params.split.{r['part']}.{c}"

    return H.section("data", SECTIONS["data"], H.key_values(facts), H.table(parts, cols, source=source))


def _features(row: dict[str, Any], settings: Settings) -> str:
    p, m = row["params"], row["metrics"]
    kept = list(row["feature_names"])
    rank = {i["feature"]: n for n, i in enumerate(m.get("importance", []))}
    registered = {spec.name: spec for spec in REGISTRY}
    if row["kind"] == "behavioural":
        names = [spec.name for spec in REGISTRY] + [n for n in kept if n not in registered]
    else:
        names = kept
    rows = []
    for name in names:
        spec = registered.get(name)
        rows.append({"feature": name, "family": spec.family if spec else "–", "unit": spec.unit if spec else "–",
                     "description": (spec.description if spec else "a column of the bank's own table"),
                     "kept": "yes" if name in kept else "no",
                     "importance": _get(m, f"importance.{rank[name]}.importance") if name in rank else None})
    rows.sort(key=lambda r: (r["kept"] == "no", rank.get(r["feature"], len(rank))))
    sel = p.get("feature_selection", {})
    sensitive = settings.governance.sensitive_attributes
    clash = sorted(set(sensitive) & set(kept))
    intro = (f"The model uses {H.figure(len(kept), 'derived.features_kept')} feature(s) of "
             f"{H.figure(sel.get('from', len(kept)), 'params.feature_selection.from')} "
             f"(selection: {H.esc(sel.get('method', 'none'))}). Importance is the mean absolute SHAP contribution "
             "on the out-of-time test, as a share of the total. Sensitive attributes "
             f"({H.esc(', '.join(sensitive))}) are never features"
             + (f": <span class=\"alert\">this version uses {H.esc(', '.join(clash))}</span>." if clash else "."))
    return H.section("features", SECTIONS["features"], H.paragraph(intro), H.table(
        rows, {"feature": "Feature", "family": "Family", "unit": "Unit", "description": "Description",
               "kept": "Kept", "importance": "Importance"},
        widths={"feature": "29%", "family": "10%", "unit": "8%", "description": "37%", "kept": "6%",
                "importance": "10%"},
        source=lambda _, r, c: f"metrics.importance.{rank[r['feature']]}.importance" if r["feature"] in rank else None))


def _method(row: dict[str, Any]) -> str:
    p, m = row["params"], row["metrics"]
    ens = m.get("ensemble", {})
    learners = []
    for name, weight in (p.get("weights") or {}).items():
        search = (p.get("search") or {}).get(name, {})
        learners.append({"learner": name, "weight": weight, "trials": search.get("trials"),
                         "pruned": search.get("pruned"), "trees": ", ".join(map(str, search.get("trees", []))),
                         "validation_auc": (ens.get("validation_auc") or {}).get(name),
                         "test_auc": (ens.get("test_auc") or {}).get(name),
                         "parameters": ", ".join(f"{k}={v}" for k, v in (p.get("learner_params") or {})
                                                 .get(name, {}).items())})
    brier = ", ".join(f"{k} {H.fmt(v, 6)}" for k, v in (p.get("calibration_cv_brier") or {}).items())
    facts = [
        ("Search", f"Optuna TPE per learner, {_f(row, 'params.search_seconds', 2)} s of a "
                   f"{_f(row, 'params.search_budget_seconds', 1)} s budget, {_f(row, 'params.search_folds')} "
                   "fold(s); trees by early stopping"),
        ("Class imbalance", H.esc(p.get("imbalance", "–"))),
        ("Blend", f"{H.esc(ens.get('method', '–'))}; blend validation AUC "
                  f"{_f(row, 'metrics.ensemble.validation_auc.blend')}"),
        ("Monotone constraints", H.esc(", ".join(f"{k} {v:+d}" for k, v in (p.get("monotone") or {}).items())
                                       or "none")),
        ("Calibration", f"{_f(row, 'metrics.calibration_method')} (cross-validated Brier: {H.esc(brier or '–')}); "
                        f"ECE on the test {_f(row, 'metrics.ece_uncalibrated')} before, {_f(row, 'metrics.ece')} "
                        "after"),
        ("Threshold", f"PD >= {_f(row, 'metrics.threshold', 6)}, the cut-off minimising missed defaults × "
                      f"{_f(row, 'params.costs.missed_default', 2)} + interventions on non-defaulters × "
                      f"{_f(row, 'params.costs.intervention', 2)}"
                      f" on the calibration rows (Bayes threshold for these costs: "
                      f"{_f(row, 'metrics.threshold_bayes', 6)}; loss given default "
                      f"{_f(row, 'params.costs.lgd', 2)})"),
        ("Cross-validation", f"AUC {_f(row, 'metrics.cv_auc_mean')} ± {_f(row, 'metrics.cv_auc_std')} over "
                             f"{_f(row, 'metrics.cv_folds')} fold(s) ({_f(row, 'metrics.cv_kind')})"),
        ("Random seed", _f(row, "params.random_seed")),
    ]
    return H.section("method", SECTIONS["method"], H.key_values(facts), H.table(
        learners, {"learner": "Learner", "weight": "Blend weight", "trials": "Search trials", "pruned": "Pruned",
                   "trees": "Trees", "validation_auc": "Validation AUC", "test_auc": "Test AUC",
                   "parameters": "Chosen parameters"}, source=_learner_source,
        widths={"learner": "10%", "weight": "8%", "trials": "7%", "pruned": "7%", "trees": "7%",
                "validation_auc": "9%", "test_auc": "8%", "parameters": "44%"}))


def _learner_source(_: int, r: dict[str, Any], c: str) -> str | None:
    """Where the learners table's figures are in the registry row."""
    name = r["learner"]
    return {"weight": f"params.weights.{name}", "trials": f"params.search.{name}.trials",
            "pruned": f"params.search.{name}.pruned", "validation_auc": f"metrics.ensemble.validation_auc.{name}",
            "test_auc": f"metrics.ensemble.test_auc.{name}"}.get(c)


def _curve_charts(m: dict[str, Any]) -> list[str]:
    curves = m.get("curves", {})
    out = []
    if "roc" in curves:
        fig, ax = H.new_figure()
        ax.plot(curves["roc"]["fpr"], curves["roc"]["tpr"], color=NAVY, label=f"AUC {H.fmt(m.get('oot_auc'))}")
        ax.plot([0, 1], [0, 1], color=GREY, linestyle="--", linewidth=0.8, label="chance")
        ax.set(xlabel="False-positive rate", ylabel="True-positive rate", title="ROC, out-of-time test")
        ax.legend(fontsize=8, loc="lower right")
        out.append(H.chart(fig, "ROC curve"))
    if "pr" in curves:
        fig, ax = H.new_figure()
        ax.plot(curves["pr"]["recall"], curves["pr"]["precision"], color=NAVY,
                label=f"average precision {H.fmt(m.get('oot_pr_auc'))}")
        ax.axhline(m.get("test_default_rate") or 0, color=GREY, linestyle="--", linewidth=0.8, label="default rate")
        ax.set(xlabel="Recall", ylabel="Precision", title="Precision–recall, out-of-time test")
        ax.legend(fontsize=8, loc="upper right")
        out.append(H.chart(fig, "Precision-recall curve"))
    if "calibration" in curves:
        cal = curves["calibration"]
        fig, ax = H.new_figure()
        top = max(max(cal["pred"] + cal["true"], default=0), 1e-3) * 1.05
        ax.plot([0, top], [0, top], color=GREY, linestyle="--", linewidth=0.8, label="perfect")
        ax.plot(cal["pred"], cal["true"], marker="o", markersize=3.5, color=NAVY, label="PD-decile bins")
        ax.set(xlabel="Mean PD", ylabel="Observed default rate", title="Calibration, out-of-time test")
        ax.legend(fontsize=8, loc="upper left")
        out.append(H.chart(fig, "Calibration curve"))
    if "cost_curve" in curves and curves["cost_curve"]["threshold"]:
        cc = curves["cost_curve"]
        fig, ax = H.new_figure()
        ax.plot(cc["threshold"], cc["cost"], color=NAVY, label="cost on the test")
        ax.axvline(m.get("threshold", 0), color=ORANGE, linewidth=1, label="chosen threshold")
        ax.axhline(m.get("expected_cost_no_model", 0), color=GREY, linestyle="--", linewidth=0.8, label="no model")
        ax.set_xscale("log")
        ax.set(xlabel="PD threshold", ylabel="Total cost", title="Cost by threshold, out-of-time test")
        ax.legend(fontsize=8)
        out.append(H.chart(fig, "Cost by threshold"))
    return out


def _breakdown(m: dict[str, Any], key: str, label: str) -> str:
    """The by-tier or by-segment table training recorded; a plain statement when it did not."""
    rows = m.get(key)
    if rows is None:
        return H.paragraph(f"Training did not record the out-of-time figures by {label} for this version.", "note")
    return H.table(rows, {"group": label.capitalize(), "rows": "Rows", "defaults": "Defaults",
                          "default_rate": "Default rate", "mean_pd": "Mean PD", "auc": "AUC",
                          "flagged_share": "Flagged at threshold", "precision_at_threshold": "Precision",
                          "recall_at_threshold": "Recall", "share_of_defaults": "Share of all defaults"},
                   source=f"metrics.{key}",
                   widths={"group": "16%", "rows": "8%", "defaults": "8%", "default_rate": "9%", "mean_pd": "9%",
                           "auc": "8%", "flagged_share": "10%", "precision_at_threshold": "10%",
                           "recall_at_threshold": "10%", "share_of_defaults": "12%"})


def _performance(row: dict[str, Any]) -> str:
    m = row["metrics"]
    facts = [("ROC AUC", _f(row, "metrics.oot_auc")), ("Average precision (PR AUC)", _f(row, "metrics.oot_pr_auc")),
             ("Brier score", _f(row, "metrics.brier")), ("Expected calibration error", _f(row, "metrics.ece")),
             ("Mean PD · default rate", f"{_f(row, 'metrics.mean_pd')} · {_f(row, 'metrics.test_default_rate')}"),
             ("Test rows · defaults", f"{_f(row, 'metrics.test_rows')} · {_f(row, 'metrics.test_defaults')}"),
             ("At the threshold: precision · recall · flagged",
              f"{_f(row, 'metrics.precision_at_threshold')} · {_f(row, 'metrics.recall_at_threshold')} · "
              f"{_f(row, 'metrics.share_flagged_at_threshold')}"),
             ("Riskiest 5 %: precision · recall", f"{_f(row, 'metrics.precision_top5')} · "
                                                 f"{_f(row, 'metrics.recall_top5')}"),
             ("Cost: model · no model · at PD 0.5", f"{_f(row, 'metrics.expected_cost', 2)} · "
                                                   f"{_f(row, 'metrics.expected_cost_no_model', 2)} · "
                                                   f"{_f(row, 'metrics.expected_cost_at_0_5', 2)}"),
             ("Saving against no model", _f(row, "metrics.cost_saving_vs_no_model", 2))]
    cm = m.get("curves", {}).get("confusion")
    confusion = H.paragraph("No confusion matrix recorded.", "note") if not cm else (
        "<table class=\"kv\"><tr><th></th><th>Defaulted</th><th>Did not default</th></tr>"
        "<tr><th>PD at or above the threshold (contact)</th>"
        f"<td class=\"num\">{_f(row, 'metrics.curves.confusion.tp')}</td>"
        f"<td class=\"num\">{_f(row, 'metrics.curves.confusion.fp')}</td></tr>"
        f"<tr><th>PD below the threshold</th><td class=\"num\">{_f(row, 'metrics.curves.confusion.fn')}</td>"
        f"<td class=\"num\">{_f(row, 'metrics.curves.confusion.tn')}</td></tr></table>")
    charts = _curve_charts(m)
    rows_of_charts = [H.chart_row(*charts[i:i + 2]) for i in range(0, len(charts), 2)]
    tiers = ", ".join(f"{k} {H.fmt(v)}" for k, v in (m.get("tier_bounds") or {}).items())
    return H.section("performance", SECTIONS["performance"], H.key_values(facts), *rows_of_charts,
                     "<h3>Confusion at the threshold</h3>", confusion,
                     "<h3>By tier</h3>", H.paragraph(f"Tier bounds at training: {H.esc(tiers)}.", "note") if tiers
                     else "", _breakdown(m, "by_tier", "tier"),
                     "<h3>By segment</h3>", _breakdown(m, "by_segment", "segment"))


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


def _stability(row: dict[str, Any], runs: list[dict[str, Any]], perf: list[dict[str, Any]],
               settings: Settings) -> str:
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


def _fairness(row: dict[str, Any], settings: Settings) -> str:
    fair = row["metrics"].get("fairness")
    g = settings.governance
    if fair and not fair.get("attributes"):
        return H.section("fairness", SECTIONS["fairness"], H.paragraph(
            f"The training rows carried none of the sensitive attributes ({H.esc(', '.join(g.sensitive_attributes))}):"
            " no fairness figure could be computed for this version's test."))
    if not fair:
        return H.section("fairness", SECTIONS["fairness"], H.paragraph(
            "No fairness figures were recorded when this version was trained (it predates them, or its table has "
            "none of the sensitive attributes): its fairness on the out-of-time test is not known. The nightly "
            "runs' fairness is on the Real-time Monitor."))
    alerts = fair.get("alerts") or []
    head = (f"Population: {H.esc(fair.get('population', ''))}, {_f(row, 'metrics.fairness.rows')} rows, "
            f"{_f(row, 'metrics.fairness.labelled_rows')} with a known outcome. Flagged = tier High or Critical. "
            f"Limits: adverse-impact ratio at least {H.fmt(g.adverse_impact_min, 2)} against the most favoured "
            f"group, true-positive-rate gap at most {H.fmt(g.tpr_gap_max, 2)}; groups under "
            f"{g.min_group_size} rows are too small to say anything and raise no alert.")
    if alerts:
        alert_html = H.paragraph(f"{len(alerts)} figure(s) beyond the limits:", "alert") + H.table(
            alerts, {"attribute": "Attribute", "group": "Group", "metric": "Figure", "value": "Value",
                     "limit": "Limit"}, source="metrics.fairness.alerts")
    else:
        alert_html = H.paragraph("No figure beyond the limits.", "ok")
    parts = [H.paragraph(head), alert_html]
    for attr, body in (fair.get("attributes") or {}).items():
        parts.append(f"<h3>{H.esc(attr)} (reference group: {H.esc(body.get('reference_group'))})</h3>")
        parts.append(H.table(body.get("groups", []), {
            "group": "Group", "n": "Rows", "too_small": "Too small", "flagged_share": "Flagged",
            "plan_share": "In plan", "adverse_impact_ratio": "Adverse impact", "auc": "AUC", "mean_pd": "Mean PD",
            "observed_rate": "Observed rate", "tpr": "TPR", "tpr_gap": "TPR gap"},
            widths={"group": "16%", "n": "8%", "too_small": "7%", "flagged_share": "8%", "plan_share": "8%",
                    "adverse_impact_ratio": "9%", "auc": "8%", "mean_pd": "8%", "observed_rate": "10%", "tpr": "8%",
                    "tpr_gap": "10%"},
            source=f"metrics.fairness.attributes.{attr}.groups"))
    return H.section("fairness", SECTIONS["fairness"], *parts)


COMPARED = ("oot_auc", "oot_pr_auc", "brier", "ece", "threshold", "precision_at_threshold", "recall_at_threshold",
            "share_flagged_at_threshold", "expected_cost_per_customer", "test_rows", "test_default_rate",
            "ceiling_auc")


def _comparison(row: dict[str, Any], other: dict[str, Any] | None) -> str:
    if other is None:
        return H.section("comparison", SECTIONS["comparison"], H.paragraph(
            "None: this was the first model registered, champion from the start."))
    if other["version"] == row["version"]:
        return H.section("comparison", SECTIONS["comparison"], H.paragraph("This version was the champion."))
    mine, theirs = row["metrics"], other["metrics"]
    body = []
    for k in COMPARED:
        a, b = mine.get(k), theirs.get(k)
        diff = a - b if isinstance(a, int | float) and isinstance(b, int | float) else None
        body.append(f"<tr><th>{H.esc(k)}</th><td class=\"num\">{_f(row, f'metrics.{k}')}</td>"
                    f"<td class=\"num\">{H.figure(b, f'champion_at_the_time.metrics.{k}')}</td>"
                    f"<td class=\"num\">{H.esc(H.fmt(diff))}</td></tr>")
    window = [(_get(r, "params.split.test.first"), _get(r, "params.split.test.last")) for r in (row, other)]
    caveat = []
    if row["kind"] != other["kind"]:
        caveat.append(f"The champion then was a {other['kind']} model, this one is {row['kind']}: their test rows "
                      "are different populations, so the figures are not comparable.")
    elif window[0] != window[1]:
        caveat.append(f"Their out-of-time tests differ ({window[1][0]} to {window[1][1]} against {window[0][0]} to "
                      f"{window[0][1]}): compare with care.")
    table_html = ("<table><thead><tr><th>Figure</th><th class=\"num\">This version</th>"
                  f"<th class=\"num\">{H.esc(other['version'])}</th><th class=\"num\">Difference</th></tr></thead>"
                  f"<tbody>{''.join(body)}</tbody></table>")
    return H.section("comparison", SECTIONS["comparison"], H.paragraph(
        f"When this version was registered the champion was <b>{H.esc(other['version'])}</b> ({H.esc(other['kind'])}, "
        f"registered {H.esc(H.fmt(other['created_at']))}, now {H.esc(other['status'])})."),
        *[H.paragraph(H.esc(c), "note") for c in caveat], table_html)


def _auc_standard_error(a: float, positives: int, negatives: int) -> float:
    """Hanley and McNeil's standard error of an AUC from its value and the two class counts."""
    q1, q2 = a / (2 - a), 2 * a * a / (1 + a)
    var = (a * (1 - a) + (positives - 1) * (q1 - a * a) + (negatives - 1) * (q2 - a * a)) / (positives * negatives)
    return math.sqrt(max(var, 0.0))


def _limitations(row: dict[str, Any]) -> str:
    m = row["metrics"]
    items = []
    if m.get("ceiling_auc") is not None:
        items.append(
            f"Synthetic data: the generator knows each customer's true PD. Ranking the same test rows by it gives AUC "
            f"{_f(row, 'metrics.ceiling_auc')}, the most any model can reach on this bank; this model reaches "
            f"{_f(row, 'metrics.oot_auc')}, {_f(row, 'metrics.auc_share_of_ceiling')} of that ceiling. Figures on "
            "the demo bank describe the generator's customers, not a real bank's.")
    else:
        items.append("No ground truth is known for these data (no generator's true PD): how far the model is from "
                     "the best possible is not known.")
    auc_, pos, n = m.get("oot_auc"), m.get("test_defaults"), m.get("test_rows")
    if auc_ is not None and pos and n and n > pos:
        se = _auc_standard_error(auc_, pos, n - pos)
        items.append(f"The out-of-time test holds {_f(row, 'metrics.test_defaults')} defaults among "
                     f"{_f(row, 'metrics.test_rows')} rows: its AUC has a standard error of about "
                     f"{H.figure(se, 'derived.auc_standard_error')} (Hanley–McNeil), and every figure by tier, "
                     "segment or group rests on fewer defaults still.")
    if m.get("cv_auc_std") is not None:
        items.append(f"Across cross-validation folds the AUC varied by ± {_f(row, 'metrics.cv_auc_std')} around "
                     f"{_f(row, 'metrics.cv_auc_mean')}.")
    items.append("Sensitive attributes are not features, but other features may stand in for them; the fairness "
                 "figures measure outcomes by group, not why they differ.")
    items.append("Scores after a contact reflect the contact: the model was trained on outcomes that earlier contacts "
                 "may have changed, and the nightly PSI shows drift in inputs, not in the relation between inputs "
                 "and defaults (that needs the realised performance once labels arrive).")
    return H.section("limitations", SECTIONS["limitations"],
                     "<ul>" + "".join(f"<li>{i}</li>" for i in items) + "</ul>")


def model_report_html(conn: Connection, settings: Settings, version: str) -> str:
    """The model report of the version as one self-contained, printable HTML document."""
    row = get_version(conn, version)
    periods = _champion_periods(conn, row)
    runs = _runs(conn, row["version"], periods)
    perf = _performance_runs(conn, row["version"], periods)
    other = _champion_at(conn, row)
    body = "\n".join([
        _purpose(row, settings, periods), _data(conn, row), _features(row, settings), _method(row),
        _performance(row), _stability(row, runs, perf, settings), _fairness(row, settings), _comparison(row, other),
        _limitations(row),
    ])
    return H.page(f"Model report · {row['version']}",
                  f"{row['kind']} PD model · {row['status']} · registered {H.fmt(row['created_at'])}", body)


def model_report_pdf(html: str) -> bytes:
    """The model report as PDF bytes."""
    return H.pdf(html)
