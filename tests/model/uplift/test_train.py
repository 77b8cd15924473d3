"""Training on the advanced bank: a champion, then a challenger; honest evaluation figures; promotion audited and
reversed; loading checks the artifact; refused without outcomes; the automatic challenger's threshold."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from sqlalchemy import Engine, create_engine, text

from predelinquency.errors import PdeError
from predelinquency.model.registry import read_artifact
from predelinquency.model.uplift.dataset import build_uplift_set, settled_outcomes
from predelinquency.model.uplift.evaluate import CURVE_POINTS
from predelinquency.model.uplift.model import UpliftModel, prior_model
from predelinquency.model.uplift.registry import get_uplift, list_uplift, load_uplift, promote_uplift
from predelinquency.model.uplift.train import new_outcomes, train_effects, train_effects_if_due
from predelinquency.scoring.plan import todays_contacts
from predelinquency.scoring.why import PRIOR
from predelinquency.settings import Settings
from tests.model.uplift.conftest import MIN_OUTCOMES, uplift_settings
from tests.support.db import cloned_database, role_engine, rolled_back


@pytest.fixture(scope="module")
def trained(advanced_engine: Engine, advanced_settings: Settings) -> tuple[dict[str, Any], dict[str, Any]]:
    first = train_effects(advanced_engine, advanced_settings, "system:test")
    second = train_effects(advanced_engine, advanced_settings, "system:test")
    return first, second


def test_first_version_is_champion_the_next_a_challenger(trained, advanced_engine) -> None:
    first, second = trained
    assert first["version"].startswith("u") and first["status"] == "champion"
    assert second["status"] == "challenger"
    with advanced_engine.connect() as conn:
        rows = {r["version"]: r for r in list_uplift(conn)}
        run = conn.execute(text("SELECT kind, status, params->>'source' FROM batch_runs WHERE run_id = :r"),
                           {"r": first["run_id"]}).one()
    assert rows[first["version"]]["status"] == "champion" and rows[second["version"]]["status"] == "challenger"
    row = rows[first["version"]]
    assert row["outcomes"] == first["metrics"]["train"]["rows"] > 0
    assert row["pd_model_version"] and row["trained_from"] <= row["trained_until"]
    # the evaluation's dates come after the learned ones: nothing it is tested on was learned from
    assert row["trained_until"] < first["metrics"]["test"]["from"]
    assert tuple(run) == ("train", "succeeded", "effects")


def test_evaluation_figures(trained, advanced_settings) -> None:
    metrics = trained[0]["metrics"]
    actions = metrics["actions"]
    assert set(actions) == set(advanced_settings.actions)
    learned = [a for a, f in actions.items() if f["outcomes"] >= MIN_OUTCOMES]
    assert learned, "the test bank should have enough outcomes of some action"
    for name, a in actions.items():
        assert a["outcomes"] == metrics["train"].get(name, 0)
        if name not in learned:  # too few outcomes: the prior alone
            assert a["weight"] == 0 and not a["learned_from_data"]
            continue
        assert a["learned_from_data"] and 0 < a["weight"] < 1
        if a["test_contacted"]:
            for side in ("learned", "prior"):
                q = a[side]
                assert len(q["curve"]) == CURVE_POINTS and q["curve"][0] == [0.0, 0.0]
                assert math.isfinite(q["coefficient"]) and set(q["uplift_at"]) == {"10", "20", "30"}
        # the synthetic bank's truth: every test row has its potential outcomes
        truth = a["truth"]
        assert truth["rows"] == metrics["test"]["rows"] and math.isfinite(truth["mean_true_uplift"])
        assert all(v is None or -1 <= v <= 1 for v in (*truth["learned"].values(), *truth["prior"].values()))
        assert truth["prior"]["pearson"] is not None


def test_load_uplift_gives_the_champion(trained, advanced_engine, advanced_settings) -> None:
    first, _ = trained
    with advanced_engine.connect() as conn:
        model = load_uplift(advanced_settings, conn)
        assert model.version == first["version"] and model.learned
        assert load_uplift(advanced_settings, conn) is model  # cached
        data = build_uplift_set(conn, advanced_settings, settled_outcomes(conn).head(50), model.feature_names)
        # a tampered checksum is refused
        row = {**get_uplift(conn, first["version"])}
        row["params"] = {**row["params"], "artifact_sha256": "0" * 64}
        with pytest.raises(PdeError, match="checksum"):
            read_artifact(row, advanced_settings, UpliftModel, what="uplift model")
    uplift = model.uplift(data.pd, data.X)
    assert uplift.shape == (50, len(model.actions)) and np.all(uplift >= 0) and np.all(uplift <= data.pd[:, None])


def test_promotion_is_audited_and_reversible(trained, advanced_engine) -> None:
    first, second = trained
    with rolled_back(advanced_engine) as conn:
        r = promote_uplift(conn, second["version"], "manager1")
        assert r == {"version": second["version"], "previous_champion": first["version"], "changed": True}
        assert get_uplift(conn)["version"] == second["version"]
        back = promote_uplift(conn, first["version"], "manager1")
        assert back["changed"] and get_uplift(conn)["version"] == first["version"]
        assert not promote_uplift(conn, first["version"], "manager1")["changed"]
        audit = conn.execute(text(
            "SELECT entity_id, before->>'champion', after->>'champion' FROM action_audit_log "
            "WHERE action = 'promote_model' AND entity = 'uplift_version' ORDER BY audit_id")).all()
        assert [tuple(a) for a in audit] == [(second["version"], first["version"], second["version"]),
                                             (first["version"], second["version"], first["version"])]
        assert conn.execute(text("SELECT count(*) FROM uplift_promotions")).scalar_one() == 2
        with pytest.raises(PdeError, match="does not exist"):
            promote_uplift(conn, "u-nope", "manager1")


def test_no_champion_loads_the_prior(advanced_engine, advanced_settings, trained) -> None:
    with rolled_back(advanced_engine) as conn:
        conn.execute(text("UPDATE uplift_versions SET status = 'challenger'"))
        model = load_uplift(advanced_settings, conn)
    assert model.version is None and not model.learned
    assert model.effects == prior_model(advanced_settings).effects


def test_refused_without_settled_outcomes(demo_settings: Settings) -> None:
    engine = create_engine(demo_settings.database_url)
    try:
        with engine.connect() as conn:
            assert not conn.execute(text("SELECT count(*) FROM contact_plan WHERE payment_outcome IN "
                                         "('paid', 'late', 'missed')")).scalar_one()
        with pytest.raises(PdeError, match="no contact-plan outcome has settled"):
            train_effects(engine, demo_settings, "system:test")
        with engine.connect() as conn:  # refused before any run is recorded
            assert not conn.execute(text("SELECT count(*) FROM batch_runs WHERE params->>'source' = 'effects'")
                                    ).scalar_one()
    finally:
        engine.dispose()


def test_automatic_challenger_threshold(trained, advanced_engine, advanced_settings) -> None:
    settings = advanced_settings.model_copy()
    settings.uplift = settings.uplift.model_copy(update={"retrain_new_outcomes": 5})
    with rolled_back(advanced_engine) as conn:
        status = new_outcomes(conn, settings)
        assert not status["due"] and status["new_outcomes"] == 0  # everything settled was seen
        # outcomes settling after the newest version was trained are new: 4 are not enough, 5 are
        since = status["since"]
        moved = "UPDATE contact_plan SET settled_on = CAST(:s AS date) + 1 WHERE (business_date, customer_id) IN " \
                "(SELECT business_date, customer_id FROM contact_plan WHERE payment_outcome = 'paid' LIMIT :n)"
        conn.execute(text(moved), {"s": since, "n": 4})
        assert new_outcomes(conn, settings) | {"reason": ""} == {"due": False, "new_outcomes": 4, "since": since,
                                                                  "reason": ""}
        conn.execute(text(moved.replace("payment_outcome = 'paid'", "payment_outcome = 'late'")), {"s": since, "n": 1})
        assert new_outcomes(conn, settings)["due"]
        # no model yet: due once an action has min_outcomes contacted outcomes
        conn.execute(text("DELETE FROM uplift_promotions"))
        conn.execute(text("DELETE FROM uplift_versions"))
        assert new_outcomes(conn, settings)["due"]
        settings.uplift = settings.uplift.model_copy(update={"min_outcomes": 10_000})
        assert not new_outcomes(conn, settings)["due"]


def test_not_due_trains_nothing(trained, advanced_engine, advanced_settings) -> None:
    result = train_effects_if_due(advanced_engine, advanced_settings, "system:nightly")
    assert result["due"] is False and result["trained"] is None
    with advanced_engine.connect() as conn:
        assert len(list_uplift(conn)) == 2


def test_the_jobs_role_trains_and_the_app_role_promotes(pg_server_url, advanced_bank, tmp_path) -> None:
    with cloned_database(pg_server_url, advanced_bank.template) as url:
        settings = uplift_settings(url, tmp_path / "data")
        with role_engine(url, "pde_jobs") as jobs:
            first = train_effects(jobs, settings, "system:test")
            second = train_effects(jobs, settings, "system:test")
        with role_engine(url, "pde_app") as app, app.begin() as conn:
            assert promote_uplift(conn, second["version"], "manager1")["changed"]
            assert load_uplift(settings, conn).version == second["version"]
    assert first["status"] == "champion"


def test_plan_rows_of_an_earlier_version_say_what_it_learned_from(trained, advanced_engine, advanced_settings) -> None:
    first, _ = trained
    learned = {a: f["outcomes"] for a, f in first["metrics"]["actions"].items() if f["weight"] > 0}
    assert learned  # the advanced bank teaches the model something
    with rolled_back(advanced_engine) as conn:
        day = conn.execute(text("SELECT max(business_date) FROM contact_plan")).scalar_one()
        conn.execute(text("UPDATE contact_plan SET uplift_version = :v WHERE business_date = :d"),
                     {"v": first["version"], "d": day})
        # today's effects are the prior's, the plan was drawn under `first`: its rows speak of `first`
        rows = todays_contacts(conn, day, prior_model(advanced_settings), advanced_settings.costs.lgd)
    said = [r for r in rows if r["why"] and r["uplift"] is not None]
    assert said
    for r in said:
        a = r["recommended_action"]
        source = f"learned from {learned[a]:,} outcomes" if a in learned else PRIOR
        assert f"Estimate: {source}." in r["why"], r["why"]
    assert any(r["recommended_action"] in learned for r in said)
