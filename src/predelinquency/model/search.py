"""Time-budgeted hyperparameter search per learner: Optuna's TPE, scored by validation AUC averaged over folds.

One study per learner, seeded. Its first trial is the learner's defaults (with class weights), the second the
defaults without them, then TPE. A trial fits one early-stopped model per fold and reports the running mean
AUC after each, so the pruner stops a trial that trails the others' median. The search stops at whichever comes
first: `trials` or the deadline; a trial still running at the deadline is cut before its next fold and not
counted, so the same seed and the same number of counted trials give the same result.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from predelinquency.model.evaluate import auc
from predelinquency.model.learners import FitData, Learner
from predelinquency.model.learners.base import CLASS_WEIGHTS

log = logging.getLogger(__name__)

Fold = tuple[FitData, FitData]
# pruning waits for this many finished trials, and within a trial for this many folds (one fold's AUC on a
# small table is too noisy to stop a trial on)
PRUNE_AFTER_TRIALS = 3
PRUNE_AFTER_FOLDS = 1


def suggest(trial: Any, space: dict[str, Any]) -> dict[str, Any]:
    """One trial's parameters from a learner's space (see Learner.space)."""
    out: dict[str, Any] = {}
    for key, spec in space.items():
        if isinstance(spec, list):
            out[key] = trial.suggest_categorical(key, spec)
        elif spec[0] in ("int", "int_log"):
            out[key] = trial.suggest_int(key, spec[1], spec[2], log=spec[0] == "int_log")
        else:
            out[key] = trial.suggest_float(key, spec[1], spec[2], log=spec[0] == "log")
    return out


@dataclass
class SearchResult:
    """The best trial's parameters, its per-fold validation margins and tree counts, and how the search went."""

    params: dict[str, Any]
    val_auc: float
    margins: list[np.ndarray]
    trees: list[int]
    fitted: Learner | None  # the best trial's model when there is one fold (nothing to refit)
    trials: int  # trials run to the end or pruned; a rerun with this many reproduces the result
    pruned: int
    seconds: float
    history: list[dict[str, Any]] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        """What the model's params record of this search."""
        return {"trials": self.trials, "pruned": self.pruned, "seconds": round(self.seconds, 2),
                "val_auc": round(self.val_auc, 6), "params": self.params, "trees": self.trees}


def search(learner: type[Learner], folds: list[Fold], *, trials: int, seconds: float, random_state: int,
           pos_weight: float, n_jobs: int, class_weights: bool = True,
           monotone: tuple[int, ...] | None = None, fixed: dict[str, Any] | None = None) -> SearchResult:
    """The best of up to `trials` parameter sets within `seconds` (the defaults always run to the end).

    class_weights: whether weighting defaulters up is one of the choices (with SMOTE the data are balanced
    already). fixed: parameters given by the caller: then they are the only trial.
    """
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    start = time.perf_counter()
    deadline = start + seconds
    space = {} if fixed is not None else dict(learner.space)
    first = {**learner.defaults, **(fixed or {})}
    if class_weights and fixed is None:
        space[CLASS_WEIGHTS] = [True, False]
    study = optuna.create_study(
        direction="maximize", sampler=optuna.samplers.TPESampler(seed=random_state),
        pruner=optuna.pruners.MedianPruner(n_startup_trials=PRUNE_AFTER_TRIALS, n_warmup_steps=PRUNE_AFTER_FOLDS))
    # trial 0 = the defaults as the bank would get them untuned; trial 1 the same without class weights
    study.enqueue_trial({**first, CLASS_WEIGHTS: True} if class_weights else first)
    if CLASS_WEIGHTS in space:
        study.enqueue_trial({**first, CLASS_WEIGHTS: False})
    best: dict[str, Any] = {"auc": -1.0}
    cut: set[int] = set()

    def objective(trial: Any) -> float:
        params = {CLASS_WEIGHTS: class_weights, **first, **suggest(trial, space)}
        aucs: list[float] = []
        margins: list[np.ndarray] = []
        trees: list[int] = []
        model = None
        for i, (train, val) in enumerate(folds):
            if trial.number > 0 and time.perf_counter() > deadline:
                cut.add(trial.number)
                trial.study.stop()
                raise optuna.TrialPruned()
            model = learner(params, pos_weight=pos_weight, random_state=random_state, n_jobs=n_jobs,
                            monotone=monotone).fit(train, val)
            margins.append(model.margin(val))
            aucs.append(np.nan_to_num(auc(val.y, margins[-1]), nan=0.5))  # one class: no better than chance
            trees.append(model.n_trees_)
            trial.report(float(np.mean(aucs)), i)
            if i < len(folds) - 1 and trial.should_prune():
                raise optuna.TrialPruned()
        score = float(np.mean(aucs))
        log.info("%s trial %d: validation AUC %.4f", learner.name, trial.number, score)
        if score > best["auc"]:  # strictly: a tie keeps the earlier trial
            best.update(auc=score, params=params, margins=margins, trees=trees,
                        fitted=model if len(folds) == 1 else None)
        return score

    study.optimize(objective, n_trials=1 if fixed is not None else max(trials, 1), timeout=max(seconds, 1e-3))
    done = [t for t in study.trials if t.number not in cut and t.state.is_finished()]
    history = [{"trial": t.number, "state": t.state.name.lower(),
                "val_auc": None if t.value is None else round(t.value, 6),
                "seconds": t.duration.total_seconds() if t.duration else None} for t in done]
    return SearchResult(params=best["params"], val_auc=best["auc"], margins=best["margins"], trees=best["trees"],
                        fitted=best["fitted"], trials=len(done),
                        pruned=sum(t.state == optuna.trial.TrialState.PRUNED for t in done),
                        seconds=time.perf_counter() - start, history=history)
