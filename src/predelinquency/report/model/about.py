"""Sections 1 to 4 of the model report: what the model is for, the data it learnt from, its features, its method."""

from __future__ import annotations

from datetime import date
from itertools import pairwise
from typing import Any

from sqlalchemy import Connection, text

from predelinquency.domain.daily import WINDOW_DAYS
from predelinquency.features.registry import REGISTRY
from predelinquency.report import html as H
from predelinquency.report.model.figures import SECTIONS, tagged, value_at
from predelinquency.settings import Settings


def purpose_section(row: dict[str, Any], settings: Settings, periods: list) -> str:
    """What the model predicts, its registry facts, its scale and when it was champion."""
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
        ("Decision threshold (PD)", tagged(row, "metrics.threshold", 6)),
        ("Score scale", H.esc(f"{s.min_score}–{s.max_score}, {s.base_score} at odds {s.base_odds:g}:1, "
                              f"{s.points_to_double_odds:g} points to double the odds")),
        ("Risk tiers (settings)", H.esc(tiers)),
        ("Artifact sha256", f"<code>{H.esc(p.get('artifact_sha256', '–'))}</code>"),
    ]))


def _customers(conn: Connection, span: list[str]) -> int:
    """Customers with banking data in the training period."""
    return conn.execute(text("SELECT count(DISTINCT customer_id) FROM daily_balances WHERE day BETWEEN :a AND :b"),
                        {"a": date.fromisoformat(span[0]), "b": date.fromisoformat(span[1])}).scalar_one()


def data_section(conn: Connection, row: dict[str, Any]) -> str:
    """The data the version learnt from and how it was split into train, validation and test."""
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
        facts += [("Data period", f"{tagged(row, 'params.data_span.0')} to {tagged(row, 'params.data_span.1')}"),
                  ("Customers with data in the period", H.figure(_customers(conn, p["data_span"]), "db.customers")),
                  ("Snapshots", f"{H.figure(len(snaps), 'derived.snapshots')} ({tagged(row, 'params.snapshots.0')} to "
                                f"{H.figure(snaps[-1] if snaps else None, f'params.snapshots.{len(snaps) - 1}')}, "
                                f"every {', '.join(map(str, steps))} days)"),
                  ("Snapshot rows (customer × date)", tagged(row, "params.rows"))]
    else:
        facts += [("Table", f"<code>{H.esc(p.get('data', '–'))}</code>"),
                  ("Target · id · time columns", H.esc(f"{p.get('target')} · {p.get('id_column') or '–'} · "
                                                       f"{p.get('time_column') or '–'}")),
                  ("Rows", tagged(row, "params.rows")),
                  ("Columns empty in every row (left out)", H.esc(", ".join(p.get("empty_columns") or []) or "none"))]
    facts += [("Rows used (train + validation + test)", H.figure(rows, "derived.rows_used")),
              ("Defaults among them", H.figure(defaults, "derived.defaults")),
              ("Default rate", H.figure(defaults / rows if rows else None, "derived.default_rate")),
              ("Split", H.esc(split.get("kind", "–")))]
    if split.get("kind") == "out_of_time":
        facts.append(("Out-of-time test window", f"{tagged(row, 'params.split.test.first')} to "
                                                 f"{tagged(row, 'params.split.test.last')} "
                                                 f"({tagged(row, 'params.split.test.groups')} periods, after a gap of "
                                                 f"{tagged(row, 'params.gap_groups')} periods)"))
    cols = {"part": "Part", "rows": "Rows", "defaults": "Defaults", "default_rate": "Default rate"}
    if split.get("kind") == "out_of_time":
        cols |= {"first": "First period", "last": "Last period", "groups": "Periods"}
    def source(_: int, r: dict[str, Any], c: str) -> str | None:
        return None if c == "default_rate" else f"params.split.{r['part']}.{c}"

    return H.section("data", SECTIONS["data"], H.key_values(facts), H.table(parts, cols, source=source))


def features_section(row: dict[str, Any], settings: Settings) -> str:
    """Every candidate feature: whether the version kept it, and its importance."""
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
                     "importance": value_at(m, f"importance.{rank[name]}.importance") if name in rank else None})
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


def method_section(row: dict[str, Any]) -> str:
    """How the version was trained: search, blend, constraints, calibration, threshold and learners."""
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
        ("Search", f"Optuna TPE per learner, {tagged(row, 'params.search_seconds', 2)} s of a "
                   f"{tagged(row, 'params.search_budget_seconds', 1)} s budget, {tagged(row, 'params.search_folds')} "
                   "fold(s); trees by early stopping"),
        ("Class imbalance", H.esc(p.get("imbalance", "–"))),
        ("Blend", f"{H.esc(ens.get('method', '–'))}; blend validation AUC "
                  f"{tagged(row, 'metrics.ensemble.validation_auc.blend')}"),
        ("Monotone constraints", H.esc(", ".join(f"{k} {v:+d}" for k, v in (p.get("monotone") or {}).items())
                                       or "none")),
        ("Calibration", f"{tagged(row, 'metrics.calibration_method')} (cross-validated Brier: "
                        f"{H.esc(brier or '–')}); ECE on the test {tagged(row, 'metrics.ece_uncalibrated')} before, "
                        f"{tagged(row, 'metrics.ece')} after"),
        ("Threshold", f"PD >= {tagged(row, 'metrics.threshold', 6)}, the cut-off minimising missed defaults × "
                      f"{tagged(row, 'params.costs.missed_default', 2)} + interventions on non-defaulters × "
                      f"{tagged(row, 'params.costs.intervention', 2)}"
                      f" on the calibration rows (Bayes threshold for these costs: "
                      f"{tagged(row, 'metrics.threshold_bayes', 6)}; loss given default "
                      f"{tagged(row, 'params.costs.lgd', 2)})"),
        ("Cross-validation", f"AUC {tagged(row, 'metrics.cv_auc_mean')} ± {tagged(row, 'metrics.cv_auc_std')} over "
                             f"{tagged(row, 'metrics.cv_folds')} fold(s) ({tagged(row, 'metrics.cv_kind')})"),
        ("Random seed", tagged(row, "params.random_seed")),
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
