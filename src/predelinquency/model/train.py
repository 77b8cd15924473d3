"""train_table: any labelled table → a calibrated, evaluated, explained PDModel, ready to register.

split → search + fit → blend → calibrate → threshold → evaluate on the test → CV → SHAP importance → PSI
baselines. The test rows are only touched by `evaluate`, per-learner AUC and importance: nothing tuned sees them.

Two ways to search and calibrate. A table without time and at most KFOLD_MAX_ROWS development rows: the search
runs on stratified folds of train + validation, the blend and the calibration on the folds' out-of-fold margins,
and the learners are refitted on all of train + validation (the folds are its CV). Otherwise (out of time, or a
large table): one fold, the validation window or rows, which early-stops, weights and calibrates; CV refits.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import polars as pl

from predelinquency.db.runs import Progress, no_progress
from predelinquency.domain.scale import pd_to_score, pd_to_tier
from predelinquency.errors import PdeError
from predelinquency.model import split as S
from predelinquency.model.calibration import Calibrator
from predelinquency.model.encoding import Table, TableEncoder, to_pandas
from predelinquency.model.ensemble import RiskEnsemble, monotone_vector
from predelinquency.model.evaluate import auc, evaluate, expected_calibration_error
from predelinquency.model.fairness import FLAGGED_TIERS, MISSING, labelled_fairness, refuse_sensitive_features
from predelinquency.model.pd_model import PDModel
from predelinquency.model.psi import baseline_bins
from predelinquency.model.selection import select_features
from predelinquency.model.shap.importance import global_importance
from predelinquency.model.threshold import bayes_threshold, best_threshold
from predelinquency.settings import Settings

log = logging.getLogger(__name__)
# SHAP importance is a mean: a few thousand rows pin it down
IMPORTANCE_ROWS = 5_000
# above this many development rows a table is searched on its validation rows alone: k folds would cost k fits
# per trial where one validation set is already large enough to rank parameters
KFOLD_MAX_ROWS = 50_000


@dataclass
class TrainResult:
    """The fitted model and everything registered with it."""

    model: PDModel
    metrics: dict[str, Any]
    params: dict[str, Any]
    baseline: dict[str, Any]
    stages: list[dict[str, Any]] = field(default_factory=list)


def _check_labels(y: np.ndarray, parts: dict[str, np.ndarray]) -> None:
    """Raises PdeError unless every part has both defaulters and non-defaulters."""
    for name, idx in parts.items():
        pos = int(y[idx].sum())
        if pos == 0 or pos == len(idx):
            what = "no defaults (1s)" if pos == 0 else "only defaults (1s)"
            raise PdeError(f"the {name} rows have {what} among {len(idx)} rows: need more data or a longer history")


def _cv(X: pd.DataFrame, y: np.ndarray, folds: S.Folds, ensemble: RiskEnsemble) -> list[float]:
    """AUC per fold of the ensemble refitted with the chosen parameters and tree counts (no search)."""
    aucs = []
    for tr, va in folds:
        if len(np.unique(y[tr])) < 2 or len(np.unique(y[va])) < 2:
            continue
        e = RiskEnsemble(weights=ensemble.weights_, imbalance=ensemble.imbalance, params=ensemble.params_,
                         monotone=ensemble.monotone, random_state=ensemble.random_state, n_jobs=ensemble.n_jobs)
        e.fit(X.iloc[tr], y[tr])
        aucs.append(auc(y[va], e.decision_function(X.iloc[va])))
    return aucs


def psi_baseline(X_train: pd.DataFrame, scores: np.ndarray) -> dict[str, Any]:
    """{'score': bins, 'features': {name: bins}} for every numeric column of the training rows (the model's
    and those feature selection left out: drift is watched on all of them); what drift is measured against."""
    enc = TableEncoder().fit(X_train)
    values = enc.transform(X_train)  # numbers exactly as a model reads them (booleans 0/1, dates as days)
    return {"score": baseline_bins(scores),
            "features": {c: baseline_bins(values[:, j]) for j, c in enumerate(enc.feature_names_)
                         if c not in set(enc.categorical_)}}


def train_table(X: Table, y: npt.ArrayLike, groups: npt.ArrayLike | None, settings: Settings, *,
                kind: str = "tabular", gap: int = 0, validation_gap: int | None = None,
                entities: npt.ArrayLike | None = None, search_trials: int | dict[str, int] | None = None,
                meta: dict[str, Any] | None = None, attributes: pl.DataFrame | None = None,
                progress: Progress = no_progress) -> TrainResult:
    """A trained, calibrated and evaluated model on the table; groups (e.g. as_of dates) make the split out-of-time.

    gap: time groups dropped before validation and before test (behavioural snapshots: outcome_days /
    snapshot_every_days, rounded up); entities (customer ids) make the validation a share of the customers (see split).
    search_trials overrides settings.training.search_trials; a {learner: trials} dict (params["search_trials"]
    of an earlier run) reproduces that run's search.
    attributes: the rows' sensitive attributes (one column each, row i with row i of X; never features): the
    test's fairness figures are in metrics["fairness"]. A feature named like a sensitive attribute is refused.
    """
    t = settings.training
    df = to_pandas(X).reset_index(drop=True)
    refuse_sensitive_features(df.columns, settings.governance)
    yy = np.asarray(y, dtype=np.int64)
    if len(df) != len(yy):
        raise PdeError(f"{len(df)} feature rows but {len(yy)} labels")
    if attributes is not None and attributes.height != len(df):
        raise PdeError(f"{len(df)} feature rows but {attributes.height} rows of sensitive attributes")
    stages: list[dict[str, Any]] = []
    clock = time.perf_counter()

    def stage(name: str, fraction: float) -> None:
        nonlocal clock
        stages.append({"name": name, "seconds": round(time.perf_counter() - clock, 3)})
        clock = time.perf_counter()
        progress(fraction, f"{name} done")

    if groups is not None:
        sp = S.out_of_time_split(groups, t.oot_snapshots, t.validation_snapshots, gap, validation_gap, entities,
                                 t.validation_share)
        g = np.asarray(groups)
    else:
        sp = S.random_split(yy, seed=t.random_seed)
        g = None
    _check_labels(yy, {"training": sp.train, "validation": sp.validation, "test": sp.test})
    Xtr, Xva, Xte = df.iloc[sp.train], df.iloc[sp.validation], df.iloc[sp.test]
    ytr, yva, yte = yy[sp.train], yy[sp.validation], yy[sp.test]
    stage("split", 0.05)

    monotone_vector(TableEncoder().fit(df), t.monotone)  # a bad constraint fails now, not after the search
    kept, selection = select_features(Xtr, ytr, Xva, yva, t.max_features, t.random_seed, keep=list(t.monotone))
    X_all_train = Xtr  # every column, for the drift baseline
    if len(kept) < df.shape[1]:
        df = df[kept]
        Xtr, Xva, Xte = df.iloc[sp.train], df.iloc[sp.validation], df.iloc[sp.test]
    stage("feature_selection", 0.1)

    trials = t.search_trials if search_trials is None else search_trials
    ens = RiskEnsemble(weights=t.ensemble_weights, imbalance=t.imbalance, search_trials=trials,
                       search_seconds=t.behavioural_search_seconds if kind == "behavioural" else t.search_seconds,
                       monotone=t.monotone or None, random_state=t.random_seed, n_jobs=2)
    dev = np.concatenate([sp.train, sp.validation])
    search_folds = (S.stratified_folds(yy[dev], t.cv_folds, t.random_seed)
                    if g is None and len(dev) <= KFOLD_MAX_ROWS else [])
    if search_folds:
        ens.fit(df.iloc[dev], yy[dev], folds=search_folds)
        z_cal, y_cal = ens.oof_margin_, yy[dev]  # out of fold: each row scored by a model that never saw it
    else:
        ens.fit(Xtr, ytr, Xva, yva)
        z_cal, y_cal = ens.decision_function(Xva), yva
    stage("search_and_fit", 0.6)

    cal = Calibrator(random_state=t.random_seed).fit(z_cal, y_cal)
    pd_cal = cal.predict(z_cal)
    threshold = best_threshold(y_cal, pd_cal, settings.costs)
    model = PDModel(ens, cal, threshold, kind=kind, meta=dict(meta or {}))
    stage("calibrate_and_threshold", 0.65)

    z_te = ens.decision_function(Xte)
    pd_te = cal.predict(z_te)
    test_attributes = pl.DataFrame(height=len(sp.test)) if attributes is None else attributes[sp.test]
    segments = (test_attributes["segment"].fill_null(MISSING).to_numpy() if "segment" in test_attributes.columns
                else None)
    metrics = evaluate(yte, pd_te, threshold, settings.costs, scoring=settings.scoring, segments=segments)
    metrics["ece_uncalibrated"] = round(expected_calibration_error(yte, 1 / (1 + np.exp(-z_te))), 6)
    metrics["calibration_method"] = cal.method_
    metrics["threshold_bayes"] = round(bayes_threshold(settings.costs), 8)
    metrics["validation_auc"] = round(auc(y_cal, z_cal), 6)
    metrics["per_learner_auc"] = {n: round(auc(yte, m), 6) for n, m in ens.learner_margins(Xte).items()}
    metrics["ensemble"] = {**ens.blend_, "weights": ens.weights_,
                           "test_auc": {**metrics["per_learner_auc"], "blend": metrics["oot_auc"]}}
    flagged = np.isin(pd_to_tier(pd_te, settings.scoring), FLAGGED_TIERS)
    metrics["fairness"] = labelled_fairness(pd_te, yte, flagged, test_attributes, settings.governance,
                                            "out-of-time test" if g is not None else "held-out test")
    stage("evaluate", 0.7)

    if search_folds:
        cv = ens.fold_auc_
        cv_kind = "stratified_kfold"  # the search's own folds: no refits
    else:
        cv_gap = gap if validation_gap is None else validation_gap
        ent = None if entities is None else np.asarray(entities)[dev]
        # a large table without time has its validation rows for tuning: refitting k folds would cost more than
        # the rest of its training, so only time-ordered tables get CV here
        folds = S.expanding_window_folds(g[dev], t.cv_folds, cv_gap, gap, ent) if g is not None else []
        cv = _cv(df.iloc[dev].reset_index(drop=True), yy[dev], folds, ens)
        cv_kind = "expanding_window" if g is not None else "none (a large table: its validation rows tune it)"
    metrics["cv_auc_mean"] = round(float(np.mean(cv)), 6) if cv else None
    metrics["cv_auc_std"] = round(float(np.std(cv)), 6) if cv else None
    metrics["cv_folds"] = len(cv)
    metrics["cv_kind"] = cv_kind
    stage("cross_validation", 0.9)

    sample = Xte if len(Xte) <= IMPORTANCE_ROWS else Xte.sample(IMPORTANCE_ROWS, random_state=t.random_seed)
    metrics["importance"] = global_importance(model.contributions(sample), model.feature_names)
    # the score baseline comes from the validation window: in-sample training scores of boosted trees are more
    # extreme than anything scored later and would show drift that is not there; features use the training rows
    baseline = psi_baseline(X_all_train, pd_to_score(pd_cal, settings.scoring))
    stage("importance_and_baseline", 1.0)

    params = {
        "rows": len(df), "features": len(model.feature_names), "categorical": model.categorical_features,
        "split": sp.summary(yy), "gap_groups": gap, "feature_selection": selection,
        "validation_gap_groups": validation_gap, "imbalance": t.imbalance,
        "search_trials": {n: r["trials"] for n, r in ens.search_.items()},
        "search_seconds": round(sum(r["seconds"] for r in ens.search_.values()), 2),
        "search_budget_seconds": ens.search_seconds, "search_folds": len(search_folds) or 1,
        "monotone": t.monotone, "weights": ens.weights_, "learner_params": ens.params_, "calibration": cal.method_,
        "calibration_cv_brier": {k: (None if math.isinf(v) else round(v, 6)) for k, v in cal.cv_brier_.items()},
        "search": ens.search_, "costs": settings.costs.model_dump(), "random_seed": t.random_seed,
        **(meta or {}),
    }
    return TrainResult(model=model, metrics=metrics, params=params, baseline=baseline, stages=stages)
