"""`pde ingest`: the upload's validation and all-or-nothing load from the command line, as a system actor."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import create_engine, text
from typer.testing import CliRunner

from predelinquency.cli import app
from predelinquency.errors import PdeError
from tests.ingest.test_load import ACCOUNTS, CUSTOMERS, TXNS


def _write(folder: Path, **files: bytes) -> list[str]:
    args = []
    for kind, data in files.items():
        (folder / f"{kind}.csv").write_bytes(data)
        args += [f"--{kind}", str(folder / f"{kind}.csv")]
    return args


def test_good_files_load_and_are_audited_as_the_cli_actor(cli: CliRunner, fresh_db: str, tmp_path: Path):
    result = cli.invoke(app, ["ingest", *_write(tmp_path, customers=CUSTOMERS, accounts=ACCOUNTS, transactions=TXNS),
                              "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["rows"] == {"customers": 2, "accounts": 3, "transactions": 2}
    eng = create_engine(fresh_db)
    with eng.connect() as c:
        actor = c.execute(text("SELECT actor FROM action_audit_log WHERE action = 'upload_data'")).scalar_one()
        assert c.execute(text("SELECT count(*) FROM transactions")).scalar_one() == 2
    eng.dispose()
    assert actor.startswith("cli:")


def test_rejected_rows_are_listed_and_the_exit_status_is_one(cli: CliRunner, fresh_db: str, tmp_path: Path):
    bad = CUSTOMERS + b"".join(b"%d,Nul\x00,30,salaried,mass,North,100,1\n" % i for i in range(600, 610))
    txns = TXNS + b"9003,501,5010,9999-12-31T10:00:00Z,-1,groceries,card,posted\n"
    args = _write(tmp_path, customers=bad, accounts=ACCOUNTS, transactions=txns)
    result = cli.invoke(app, ["ingest", *args, "--json", "--show", "3"])
    assert result.exit_code == 1, result.output
    out = json.loads(result.stdout)
    assert out["loaded"] is False and out["rejected"] == 11 and out["not_shown"] == 8
    assert out["rows"][0] == {"file": "customers", "line": 4, "column": "full_name",
                              "problem": "contains a control character (NUL, tab, line break or similar)"}
    human = cli.invoke(app, ["ingest", *args])
    assert human.exit_code == 1 and "transactions line 4, ts: 9999-12-31 is after" in human.stdout
    assert "rejected: 11 problem(s); nothing was loaded" in human.stdout and "Traceback" not in human.output
    eng = create_engine(fresh_db)
    with eng.connect() as c:
        assert c.execute(text("SELECT count(*) FROM customers")).scalar_one() == 0
    eng.dispose()


def test_at_least_one_existing_file(cli: CliRunner, tmp_path: Path):
    result = cli.invoke(app, ["ingest"])
    assert isinstance(result.exception, PdeError) and "at least one file" in str(result.exception)
    missing = cli.invoke(app, ["ingest", "--customers", str(tmp_path / "nope.csv")])
    assert missing.exit_code == 2 and "does not exist" in missing.output
