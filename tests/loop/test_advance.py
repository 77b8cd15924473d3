"""`pde advance` with the plan worked every day: the loop closes, and what it measures is the truth.

The module's bank is the session's demo bank advanced 60 business days once, the simulated team working each
day's plan through `operations` as officers would; the tests read it.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text

from predelinquency.errors import PdeError
from predelinquency.loop.advance import TEAM_USERNAME, advance_bank
from predelinquency.loop.effects import measure_effects
from predelinquency.model.registry import clear_cache
from predelinquency.settings import Settings
from tests.conftest import fast_training
from tests.support.bank import ADVANCE_DAYS as DAYS
from tests.support.bank import AdvancedBank, DemoBank
from tests.support.db import cloned_database


@pytest.fixture(scope="module")
def advanced(pg_server_url: str, advanced_bank: AdvancedBank) -> Iterator[tuple[Engine, Settings, dict]]:
    with cloned_database(pg_server_url, advanced_bank.template) as url:
        settings = fast_training(Settings(data_dir=advanced_bank.data_dir, database_url=url))
        settings.operations = settings.operations.model_copy(update={"holdout_share": advanced_bank.holdout_share})
        engine = create_engine(url)
        yield engine, settings, advanced_bank.result
        engine.dispose()


def test_the_bank_moves_on_and_the_team_works_the_plan(advanced, demo_bank: DemoBank):
    engine, _, result = advanced
    assert result["days"] == DAYS and result["nightly_runs"] >= DAYS
    with engine.connect() as c:
        assert c.execute(text("SELECT pde_business_date()")).scalar_one() == demo_bank.as_of + timedelta(days=DAYS)
        assert c.execute(text("SELECT max(as_of) FROM risk_scores")).scalar_one() == demo_bank.as_of + timedelta(
            days=DAYS)
        made = c.execute(text(
            "SELECT count(*), count(o.outcome_id), count(*) FILTER (WHERE i.payment_outcome IS NOT NULL) "
            "FROM interventions i JOIN users u ON u.user_id = i.created_by "
            "LEFT JOIN intervention_outcomes o ON o.intervention_id = i.intervention_id "
            "WHERE u.username = :team"), {"team": TEAM_USERNAME}).one()
        assert made[0] == result["worked_by_team"] > 50
        assert made[1] == made[0]          # every contact's result recorded ...
        assert 0 < made[2] < made[0]       # ... and the older ones settled from the payments that followed
        audited = c.execute(text("SELECT count(*) FROM action_audit_log WHERE actor = :team AND "
                                 "action = 'create_intervention'"), {"team": TEAM_USERNAME}).scalar_one()
        assert audited == made[0]
        # nobody held out was contacted, and the planned contact arm was worked
        breached = c.execute(text(
            "SELECT count(*) FROM contact_plan p JOIN interventions i ON i.customer_id = p.customer_id "
            "AND i.business_date >= p.business_date AND i.business_date < p.business_date + 30 "
            "WHERE p.arm = 'holdout' AND p.released_at IS NULL")).scalar_one()
        assert breached == 0
        # ground truth for every planned customer whose next instalment has come due
        truth = c.execute(text(
            "SELECT count(*) FROM contact_plan p JOIN simulated_outcomes s ON s.customer_id = p.customer_id "
            "AND s.eligible_on = p.business_date WHERE p.settled_on IS NOT NULL "
            "AND p.payment_outcome <> 'no_instalment'")).scalar_one()
        settled = c.execute(text("SELECT count(*) FROM contact_plan WHERE settled_on IS NOT NULL "
                                 "AND payment_outcome <> 'no_instalment'")).scalar_one()
        assert truth == settled > 0


def test_the_realised_outcome_is_the_potential_outcome_of_what_happened(advanced):
    engine, _, _ = advanced
    with engine.connect() as c:
        rows = c.execute(text(
            "SELECT p.arm, p.payment_outcome = 'missed', s.missed_none, "
            "       (s.missed_action ->> p.recommended_action)::boolean "
            "FROM contact_plan p JOIN simulated_outcomes s ON s.customer_id = p.customer_id "
            "AND s.eligible_on = p.business_date AND s.due_date = p.outcome_due_date "
            "JOIN interventions i ON i.customer_id = p.customer_id AND i.business_date = p.business_date "
            "WHERE p.settled_on IS NOT NULL AND p.arm = 'contact' "
            "AND i.intervention_type = p.recommended_action")).all()
    assert rows
    for _, missed, _, missed_if_contacted in rows:
        assert missed == missed_if_contacted


def test_the_measured_uplift_brackets_the_true_uplift(advanced):
    engine, settings, _ = advanced
    with engine.connect() as c:
        effects = measure_effects(c, settings)
    assert effects["synthetic"]
    used = sorted(effects["by_action"], key=lambda g: -(g["contacted"] + g["holdout"]))[:2]
    assert len(used) == 2
    for g in used:
        assert g["holdout"] > 0 and g["true_units"] == g["contacted"] + g["holdout"]
        assert g["ci_low"] <= g["true_uplift"] <= g["ci_high"], g
    o = effects["overall"]
    assert o["ci_low"] <= o["true_uplift"] <= o["ci_high"], o


def test_advancing_a_bank_pde_generate_did_not_make_is_refused(cli, fresh_db: str):
    from predelinquency.cli import app

    out = cli.invoke(app, ["advance", "--days", "1", "--nightly", "none"])
    # `pde` prints a PdeError as one line and exits 2 (cli.main); the runner hands us the error itself
    assert isinstance(out.exception, PdeError)
    assert "was not generated by `pde generate`" in str(out.exception) and "ingest" in str(out.exception)
    engine = create_engine(fresh_db)
    with engine.connect() as c:  # refused before anything was recorded
        assert c.execute(text("SELECT count(*) FROM batch_runs")).scalar_one() == 0
    engine.dispose()


@pytest.mark.parametrize(("args", "message"), [
    (["--days", "0"], "--days must be between 1 and 366"),
    (["--days", "2", "--nightly", "sometimes"], "--nightly must be one of every, last, none"),
    (["--days", "2", "--work-plan"], "--work-plan needs --nightly every"),
])
def test_bad_arguments_are_refused_by_name(cli, args: list[str], message: str):
    from predelinquency.cli import app

    out = cli.invoke(app, ["advance", *args])
    assert isinstance(out.exception, PdeError) and message in str(out.exception)


def test_a_failed_advance_leaves_the_bank_as_it_was(demo_db: str, demo_bank: DemoBank, tmp_path: Path):
    # the champion's file was replaced since it was registered: the nightly after the last simulated day refuses
    # to load it, and everything the advance did before goes with it
    settings = Settings(data_dir=tmp_path / "data", database_url=demo_db)
    copy = settings.models_dir / demo_bank.model_version
    shutil.copytree(demo_bank.data_dir / "models" / demo_bank.model_version, copy)
    artifact = next(f for f in copy.iterdir() if f.suffix == ".joblib")
    artifact.write_bytes(artifact.read_bytes() + b"tampered")
    engine = create_engine(demo_db)
    with engine.begin() as c:
        c.execute(text("UPDATE model_versions SET artifact_path = :p WHERE version = :v"),
                  {"p": str(copy), "v": demo_bank.model_version})
    clear_cache()
    tables = ("transactions", "payments", "labels", "daily_balances", "risk_scores", "simulated_outcomes",
              "contact_plan", "interventions")

    def snapshot() -> dict:
        with engine.connect() as c:
            counts = {t: c.execute(text(f"SELECT count(*) FROM {t}")).scalar_one() for t in tables}
            counts["business_date"] = c.execute(text("SELECT pde_business_date()")).scalar_one()
            counts["state"] = c.execute(text("SELECT md5(string_agg(md5(state), '' ORDER BY chunk)) "
                                             "FROM simulation_state")).scalar_one()
            return counts

    before = snapshot()
    with pytest.raises(PdeError, match="does not match the registered checksum"):
        advance_bank(engine, settings, 3, nightly="last", actor="system:test")
    clear_cache()
    assert snapshot() == before
    with engine.connect() as c:
        run = c.execute(text("SELECT status, error FROM batch_runs WHERE kind = 'advance' "
                             "ORDER BY run_id DESC LIMIT 1")).one()
    assert run.status == "failed"
    engine.dispose()


def test_the_cli_advances_and_reports_effects(demo_cli):
    from predelinquency.cli import app

    out = demo_cli.invoke(app, ["advance", "--days", "2", "--json"])
    assert out.exit_code == 0, out.output
    r = json.loads(out.output)
    assert r["days"] == 2 and r["nightly_runs"] == 1 and r["rows"]["transactions"] > 0
    out = demo_cli.invoke(app, ["effects", "--json"])
    assert out.exit_code == 0, out.output
    effects = json.loads(out.output)
    assert {"business_date", "overall", "by_action"} <= set(effects)
    out = demo_cli.invoke(app, ["effects"])
    assert out.exit_code == 0 and "effects of contacts at business date" in out.output
    out = demo_cli.invoke(app, ["effects", "--since", "yesterday"])
    assert isinstance(out.exception, PdeError) and "--since must be a date" in str(out.exception)


def test_each_days_plan_is_drawn_with_statistics_that_include_the_advances_own_rows(demo_settings: Settings):
    """Autovacuum cannot see an open transaction's rows: without an ANALYZE inside it, the plan's query took
    today's scores for one row and grew from 0.1 s to 8 s a day over 10 days of an advance."""
    engine = create_engine(demo_settings.database_url)
    try:
        advance_bank(engine, demo_settings, 2, nightly="every", work_plan=True, actor="system:test")
        with engine.connect() as c:
            part = c.execute(text("SELECT tableoid::regclass::text FROM risk_scores "
                                  "WHERE as_of = pde_business_date() LIMIT 1")).scalar_one()
            analysed = {r.relname: r.last_analyze for r in c.execute(text(
                "SELECT relname, last_analyze FROM pg_stat_user_tables "
                "WHERE relname IN ('interventions', 'contact_plan', :p)"), {"p": part.split(".")[-1]})}
            rows = c.execute(text("SELECT reltuples FROM pg_class WHERE oid = CAST(:p AS regclass)"),
                             {"p": part}).scalar_one()
    finally:
        engine.dispose()
    assert set(analysed) == {"interventions", "contact_plan", part.split(".")[-1]}
    assert all(analysed.values()), analysed
    assert rows > 0  # the planner knows today's scores are there
