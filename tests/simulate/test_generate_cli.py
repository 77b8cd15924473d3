"""`pde generate` in-process against fresh databases: JSON output, batch_runs, refusal, reset, errors."""

import json
import sys
import threading
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, create_engine, text
from typer.testing import CliRunner

from predelinquency import cli as cli_mod
from predelinquency.errors import Conflict, PdeError
from predelinquency.settings import Settings
from predelinquency.simulate import generate as generate_mod
from predelinquency.simulate import generate_bank, load
from tests.support.db import cloned_database

SMALL = ["--customers", "100", "--days", "120"]
_DIGEST = """
SELECT md5(concat_ws('/',
    (SELECT string_agg(x::text, '|' ORDER BY customer_id) FROM customers x),
    (SELECT string_agg(x::text, '|' ORDER BY account_id) FROM accounts x),
    (SELECT string_agg(x::text, '|' ORDER BY payment_id) FROM payments x),
    (SELECT string_agg(x::text, '|' ORDER BY txn_id) FROM transactions x),
    (SELECT string_agg(x::text, '|' ORDER BY customer_id, day) FROM daily_balances x),
    (SELECT string_agg(x::text, '|' ORDER BY customer_id, as_of) FROM labels x)))
"""


@pytest.fixture
def db(fresh_db: str) -> Iterator[Engine]:
    eng = create_engine(fresh_db)
    yield eng
    eng.dispose()


def _count(db: Engine, table: str) -> int:
    with db.connect() as c:
        return c.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()


def _digest(db: Engine) -> str:
    with db.connect() as c:
        return c.execute(text(_DIGEST)).scalar_one()


def test_json_output_counts_and_batch_run(cli: CliRunner, db: Engine):
    res = cli.invoke(cli_mod.app, ["generate", *SMALL, "--seed", "3", "--json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert out["customers"] == _count(db, "customers") == 100
    assert out["transactions"] == _count(db, "transactions")
    assert out["payments"] == _count(db, "payments")
    assert out["daily_rows"] == _count(db, "daily_balances") == out["labels"] == 100 * 120
    assert out["start_date"] == "2026-07-04" and out["end_date"] == "2026-10-31"
    assert 0 < out["observed_miss_rate"] < 0.2 and out["seconds"] > 0
    with db.connect() as c:
        run = c.execute(text("SELECT * FROM batch_runs WHERE run_id = :id"), {"id": out["run_id"]}).one()
    assert run.kind == "generate" and run.status == "succeeded" and run.progress == 1
    assert run.params["customers"] == 100 and run.params["seed"] == 3
    names = [s["name"] for s in run.stages]
    for stage in ("calibrate", "generate", "copy transactions", "copy daily_balances", "copy labels", "indexes",
                  "rollup check"):
        assert stage in names
    copied = {s["name"]: s.get("rows") for s in run.stages}
    assert copied["copy transactions"] == out["transactions"]
    assert run.metrics["observed_miss_rate"] == out["observed_miss_rate"]
    assert "loaded 100 of 100 customers" in run.log


def test_human_summary(cli: CliRunner):
    res = cli.invoke(cli_mod.app, ["generate", *SMALL])
    assert res.exit_code == 0, res.output
    assert "generated 100 customers over 120 days" in res.stdout
    assert "of customer 30-day windows" in res.stdout


def test_refuses_to_duplicate_and_reset_replaces_reproducibly(cli: CliRunner, db: Engine):
    assert cli.invoke(cli_mod.app, ["generate", *SMALL, "--seed", "5"]).exit_code == 0
    first = _digest(db)
    with db.begin() as c:
        uid = c.execute(text("INSERT INTO users (username, role, password_hash) VALUES ('alice', 'manager', 'x') "
                             "RETURNING user_id")).scalar_one()
        c.execute(text("INSERT INTO interventions (customer_id, intervention_type, channel, status, created_by, "
                       "due_at) VALUES (1, 'agent_call', 'phone', 'open', :u, now())"), {"u": uid})
        c.execute(text("INSERT INTO action_audit_log (actor, action, entity) VALUES ('alice', 'create', 'x')"))
    runs = _count(db, "batch_runs")

    res = cli.invoke(cli_mod.app, ["generate", *SMALL, "--seed", "5"])
    assert isinstance(res.exception, Conflict) and "--reset" in str(res.exception)
    assert _digest(db) == first and _count(db, "batch_runs") == runs and _count(db, "interventions") == 1

    assert cli.invoke(cli_mod.app, ["generate", *SMALL, "--seed", "5", "--reset"]).exit_code == 0
    assert _digest(db) == first  # same seed, same bank
    assert _count(db, "interventions") == 0
    assert _count(db, "users") == 1 and _count(db, "action_audit_log") == 1

    assert cli.invoke(cli_mod.app, ["generate", "--customers", "80", "--days", "120", "--seed", "6",
                                    "--reset"]).exit_code == 0
    assert _digest(db) != first and _count(db, "customers") == 80


@pytest.mark.parametrize(("args", "message"), [
    (["--customers", "0"], "--customers must be a positive number"),
    (["--customers", "-5"], "--customers must be a positive number"),
    (["--days", "119"], "--days must be at least 120"),
    (["--seed", "-1"], "--seed must be zero or positive"),
    (["--end-date", "31/10/2026"], "--end-date must be a date like 2026-10-31"),
])
def test_bad_arguments_are_refused_before_anything_is_written(cli: CliRunner, db: Engine, args: list[str],
                                                              message: str):
    res = cli.invoke(cli_mod.app, ["generate", *args])
    assert isinstance(res.exception, PdeError)
    assert message in str(res.exception)
    assert _count(db, "batch_runs") == 0 and _count(db, "customers") == 0


def test_main_reports_one_line_on_stderr_and_exit_2(monkeypatch: pytest.MonkeyPatch,
                                                    capsys: pytest.CaptureFixture[str]):
    monkeypatch.setattr(sys, "argv", ["pde", "generate", "--days", "30"])
    with pytest.raises(SystemExit) as exc:
        cli_mod.main()
    assert exc.value.code == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: --days must be at least 120")


def test_a_failure_leaves_nothing_half_written(fresh_settings: Settings, db: Engine,
                                               monkeypatch: pytest.MonkeyPatch):
    real = load.copy_piece

    def failing(conn, piece):
        if piece.table == "labels":
            raise RuntimeError("disk full")
        return real(conn, piece)

    monkeypatch.setattr(load, "copy_piece", failing)
    with pytest.raises(RuntimeError, match="disk full"):
        generate_bank(db, fresh_settings, customers=50, days=120, seed=1)
    for table in ("customers", "accounts", "payments", "transactions", "daily_balances", "labels"):
        assert _count(db, table) == 0, table
    with db.connect() as c:
        status, error = c.execute(text("SELECT status, error FROM batch_runs")).one()
    assert status == "failed" and "disk full" in error


@pytest.mark.parametrize("where", ["simulate_chunk", "chunk_pieces"])  # the two worker threads
def test_a_worker_failure_stops_the_load_and_leaves_nothing(fresh_settings: Settings, db: Engine,
                                                            monkeypatch: pytest.MonkeyPatch, where: str):
    real = getattr(generate_mod, where)
    calls = []

    def failing(ch_or_seed, *args, **kwargs):
        calls.append(1)
        if len(calls) == 3:  # a later chunk, with earlier ones already copied
            raise MemoryError(f"{where} ran out")
        return real(ch_or_seed, *args, **kwargs)

    monkeypatch.setattr(generate_mod, where, failing)
    settings = fresh_settings.model_copy(update={"simulation": fresh_settings.simulation.model_copy(
        update={"chunk_customers": 100})})  # chunks of 10, 25, 62, 100, ... customers
    with pytest.raises(MemoryError, match=f"{where} ran out"):
        generate_bank(db, settings, customers=300, days=120, seed=1)
    for table in ("customers", "transactions", "daily_balances", "labels"):
        assert _count(db, table) == 0, table
    assert not [t for t in threading.enumerate() if t.name.startswith("pde-")]  # both workers have stopped


def test_an_unmigrated_database_is_explained(pg_server_url: str, fresh_settings: Settings):
    with cloned_database(pg_server_url, template=None) as url:
        eng = create_engine(url)
        try:
            with pytest.raises(PdeError, match="pde db init"):
                generate_bank(eng, fresh_settings, customers=10, days=120, seed=1)
        finally:
            eng.dispose()
