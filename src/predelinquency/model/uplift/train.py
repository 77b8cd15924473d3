"""`pde train --effects`: settled plan outcomes → uplift model fitted on the older dates → evaluated on the newest →
registered (the evaluated model itself); and the nightly's automatic challenger when enough new outcomes settled."""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
from sqlalchemy import Connection, Engine, text

from predelinquency.db.runs import RunRecorder, recorded_run
from predelinquency.errors import PdeError
from predelinquency.model.registry import get_version
from predelinquency.model.uplift.dataset import build_uplift_set, newest_dates, settled_outcomes, uplift_features
from predelinquency.model.uplift.evaluate import evaluate_uplift, true_uplift
from predelinquency.model.uplift.learner import fit_uplift
from predelinquency.model.uplift.model import prior_model
from predelinquency.model.uplift.registry import register_uplift
from predelinquency.settings import Settings

log = logging.getLogger(__name__)
_SETTLED = "payment_outcome IN ('paid', 'late', 'missed') AND released_at IS NULL"


def train_effects(engine: Engine, settings: Settings, actor: str) -> dict[str, Any]:
    """Trains, evaluates on the newest plan dates and registers an uplift model; {version, status, metrics, …}.

    PdeError, before any run is recorded, when no plan outcome has settled or there is no PD champion.
    """
    with engine.connect() as conn:
        outcomes = settled_outcomes(conn)
        if outcomes.height == 0:
            raise PdeError("no contact-plan outcome has settled yet: the uplift model learns from contacted and "
                           "held-out customers whose next instalment came due (run the nightly for more business "
                           "days; outcomes settle once an instalment's due date and grace period have passed)")
        champion = get_version(conn)  # NotFound, naming pde train, when there is none
    with recorded_run(engine, "train", actor, {"source": "effects"}) as rec:
        return _train(engine, settings, actor, rec, outcomes, champion)


def _train(engine: Engine, settings: Settings, actor: str, rec: RunRecorder, outcomes: Any,
           champion: dict[str, Any]) -> dict[str, Any]:
    with engine.connect() as conn:
        with rec.stage("features") as st:
            data = build_uplift_set(conn, settings, outcomes, uplift_features(list(champion["feature_names"])))
            st["rows"] = len(data)
        rec.progress(0.5, f"{len(data)} settled plan outcomes; fitting the uplift model")
        first_test = np.datetime64(newest_dates(data.business_date, settings.uplift.test_share))
        train, test = data.rows(data.business_date < first_test), data.rows(data.business_date >= first_test)
        with rec.stage("fit") as st:
            model = fit_uplift(train, settings)
            st["rows"] = len(train)
        with rec.stage("evaluate") as st:
            actions = evaluate_uplift(model, prior_model(settings), test,
                                      true_uplift(conn, test, model.actions))
            st["rows"] = len(test)
    d = lambda v: v.astype(object)  # noqa: E731  datetime64[D] → date
    metrics = {"actions": actions, "train": {"rows": len(train), **train.counts()},
               "test": {"rows": len(test), "from": d(test.business_date.min()), "until": d(test.business_date.max()),
                        **test.counts()}}
    params = {"test_share": settings.uplift.test_share, "prior_strength": settings.uplift.prior_strength,
              "min_outcomes": settings.uplift.min_outcomes, "random_seed": settings.training.random_seed,
              # every outcome settled by then was seen (learned from or evaluated on): the auto challenger counts after
              "settled_until": d(data.settled_on.max()), "data_until": d(data.business_date.max())}
    with engine.begin() as conn:
        reg = register_uplift(conn, settings, model, trained_by=actor, pd_model_version=champion["version"],
                              trained_from=d(train.business_date.min()) if len(train) else None,
                              trained_until=d(train.business_date.max()) if len(train) else None,
                              outcomes=len(train), params=params, metrics=metrics)
    rec.metrics.update({"version": reg["version"], "kind": "uplift", "outcomes": len(train)})
    return {**reg, "pd_model_version": champion["version"], "outcomes": len(train), "params": params,
            "metrics": metrics, "run_id": rec.run_id}


def new_outcomes(conn: Connection, settings: Settings) -> dict[str, Any]:
    """Whether an uplift challenger is due: {due, reason, new_outcomes, since}.

    Counted after the newest uplift version's settled_until (all it saw), not the champion's: a challenger nobody
    promoted must not be trained again every night. With no version yet: due once some action has
    uplift.min_outcomes contacted outcomes (before that, training would only register the prior).
    """
    newest = conn.execute(text("SELECT version, params->>'settled_until' FROM uplift_versions "
                               "ORDER BY created_at DESC, version DESC LIMIT 1")).first()
    if newest is None:
        most = conn.execute(text(f"SELECT coalesce(max(n), 0) FROM (SELECT count(*) AS n FROM contact_plan "
                                 f"WHERE arm = 'contact' AND {_SETTLED} GROUP BY recommended_action) c")).scalar_one()
        due = most >= settings.uplift.min_outcomes
        return {"due": due, "new_outcomes": int(most), "since": None,
                "reason": f"no uplift model yet; the most contacted outcomes of one action: {most} "
                          f"(needs {settings.uplift.min_outcomes})"}
    since = newest[1]
    count = conn.execute(text(f"SELECT count(*) FROM contact_plan WHERE {_SETTLED} "
                              "AND (CAST(:s AS date) IS NULL OR settled_on > CAST(:s AS date))"),
                         {"s": since}).scalar_one()
    need = settings.uplift.retrain_new_outcomes
    return {"due": count >= need, "new_outcomes": int(count), "since": since,
            "reason": f"{count} plan outcomes settled since {newest[0]} was trained (needs {need})"}


def train_effects_if_due(engine: Engine, settings: Settings, actor: str) -> dict[str, Any]:
    """The nightly's automatic challenger: trains one when new_outcomes says it is due; {due, reason, …, trained}."""
    with engine.connect() as conn:
        status = new_outcomes(conn, settings)
    if not status["due"]:
        return {**status, "trained": None}
    result = train_effects(engine, settings, actor)
    log.info("trained uplift model %s (%s) after the nightly: %s", result["version"], result["status"],
             status["reason"])
    return {**status, "trained": {k: result[k] for k in ("version", "status", "outcomes", "run_id")}}
