"""`pde train` / `pde predict` / `pde model` on your own CSV, in-process against a fresh database."""

import json
import re
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import create_engine, text
from typer.testing import CliRunner

from predelinquency.cli import app
from predelinquency.errors import PdeError
from predelinquency.settings import get_settings
from tests.support.synthetic import make_table


@pytest.fixture
def cli(cli: CliRunner, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    """The fresh-database runner (tests/conftest.py) with small, fast training settings."""
    monkeypatch.setenv("PDE_TRAINING__CV_FOLDS", "2")
    monkeypatch.setenv("PDE_TRAINING__SEARCH_TRIALS", "1")
    get_settings.cache_clear()
    return cli


@pytest.fixture
def table_csv(tmp_path: Path) -> Path:
    X, y, groups = make_table(1500, seed=21)
    df = X.assign(customer_id=range(1000, 2500), as_of=groups, defaulted=y)
    path = tmp_path / "loans.csv"
    df.to_csv(path, index=False)
    return path


def _json(result) -> dict:
    assert result.exit_code == 0, f"{result.exception!r}\n{result.output}"
    return json.loads(result.stdout.strip().splitlines()[-1])


def _rows(db_url: str, sql: str) -> list:
    eng = create_engine(db_url)
    with eng.connect() as c:
        rows = c.execute(text(sql)).all()
    eng.dispose()
    return rows


def test_train_predict_round_trip(cli: CliRunner, fresh_db: str, table_csv: Path, tmp_path: Path):
    out = _json(cli.invoke(app, ["train", "--data", str(table_csv), "--target", "defaulted", "--id", "customer_id",
                                 "--time", "as_of", "--json"]))
    v1 = out["version"]
    assert out["status"] == "champion" and out["metrics"]["oot_auc"] > 0.75
    assert out["split"]["kind"] == "out_of_time"

    # the file to score has no target column; predictions keep the training id
    new = pd.read_csv(table_csv).drop(columns=["defaulted"]).head(200)
    score_csv = tmp_path / "new.parquet"  # Parquet works as well as CSV
    new.to_parquet(score_csv, index=False)
    pred_path = tmp_path / "out" / "pred.csv"
    res = _json(cli.invoke(app, ["predict", "--data", str(score_csv), "--model", v1, "--out", str(pred_path),
                                 "--json"]))
    assert res["rows"] == 200 and res["version"] == v1
    pred = pd.read_csv(pred_path)
    assert list(pred.columns) == ["customer_id", "probability", "score", "tier"]
    assert pred["customer_id"].tolist() == new["customer_id"].tolist()
    assert pred["probability"].between(0, 1).all() and pred["score"].between(300, 900).all()
    assert set(pred["tier"]) <= {"Low", "Medium", "High", "Critical"}

    v2 = _json(cli.invoke(app, ["train", "--data", str(table_csv), "--target", "defaulted", "--json"]))["version"]
    listed = _json(cli.invoke(app, ["model", "list", "--json"]))["models"]
    assert {m["version"]: m["status"] for m in listed} == {v1: "champion", v2: "challenger"}
    promoted = _json(cli.invoke(app, ["model", "promote", v2, "--json"]))
    assert promoted["previous_champion"] == v1
    human = cli.invoke(app, ["model", "list"])
    assert human.exit_code == 0 and v2 in human.stdout and "champion" in human.stdout

    runs = _rows(fresh_db, "SELECT status, triggered_by, metrics FROM batch_runs WHERE kind = 'train' ORDER BY run_id")
    assert [r.status for r in runs] == ["succeeded", "succeeded"]
    assert runs[0].triggered_by.startswith("cli:") and runs[0].metrics["version"] == v1
    params = _rows(fresh_db, f"SELECT params FROM model_versions WHERE version = '{v2}'")[0].params
    assert params["split"]["kind"] == "stratified_random" and params["id_column"] is None


def test_predict_without_id_numbers_rows_and_refuses_a_missing_column(cli: CliRunner, table_csv: Path,
                                                                         tmp_path: Path):
    v = _json(cli.invoke(app, ["train", "--data", str(table_csv), "--target", "defaulted", "--json"]))["version"]
    out = tmp_path / "pred.csv"
    res = _json(cli.invoke(app, ["predict", "--data", str(table_csv), "--out", str(out), "--json"]))
    assert res["version"] == v  # the champion by default
    assert pd.read_csv(out)["row"].tolist()[:3] == [1, 2, 3]
    out.unlink()

    pd.read_csv(table_csv).drop(columns=["product"]).to_csv(tmp_path / "lacking.csv", index=False)
    res = cli.invoke(app, ["predict", "--data", str(tmp_path / "lacking.csv"), "--out", str(out)])
    assert isinstance(res.exception, PdeError) and "column `product` is missing" in str(res.exception)
    assert not out.exists() and list(tmp_path.glob(".pred.csv*")) == []

    res = cli.invoke(app, ["predict", "--data", str(table_csv), "--model", "v999", "--out", str(out)])
    assert isinstance(res.exception, PdeError) and "model version v999 does not exist" in str(res.exception)
    assert not out.exists()


BAD_FILES = {
    "missing_target": ("a,b\n1,2\n3,4\n", "target column `defaulted` is not in"),
    "non_binary": ("a,defaulted\n1,0\n2,1\n3,2\n4,yes\n", "must be binary 0/1.*found values: '0', '1', '2', 'yes'"),
    "empty": ("", "is empty"),
    "header_only": ("a,defaulted\n", "has a header but no data rows"),
    "ragged": ("a,b,defaulted\n1,2,0\n3,4,1\n5,6,7,0\n", "line 4: 4 fields where the header has 3"),
    "short_row": ("a,b,defaulted\n1,2,0\n3\n", "line 3: 1 fields where the header has 3"),
    "empty_label": ("a,defaulted\n1,0\n2,\n3,1\n", "`defaulted` has 1 empty value.*line 3"),
    "one_class": ("a,defaulted\n1,0\n2,0\n", "has only 0s"),
    "typo_in_numbers": ("a,defaulted\n" + "".join(f"{i},{i % 2}\n" for i in range(30)) + "1O,1\n",
                        "column `a` is numeric but has 1 non-numeric value.*'1O' at line 32"),
}


@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_bad_training_files_get_specific_errors_and_write_nothing(cli: CliRunner, fresh_db: str, tmp_path: Path,
                                                                 case: str):
    content, message = BAD_FILES[case]
    path = tmp_path / f"{case}.csv"
    path.write_text(content)
    res = cli.invoke(app, ["train", "--data", str(path), "--target", "defaulted"])
    assert isinstance(res.exception, PdeError), res.output
    assert re.search(message, str(res.exception)), str(res.exception)
    assert _rows(fresh_db, "SELECT count(*) FROM model_versions")[0][0] == 0
    assert _rows(fresh_db, "SELECT count(*) FROM batch_runs")[0][0] == 0
    assert not (tmp_path / "data" / "models").exists() or not any((tmp_path / "data" / "models").iterdir())


def test_train_argument_errors(cli: CliRunner, tmp_path: Path):
    res = cli.invoke(app, ["train"])
    assert isinstance(res.exception, PdeError) and "--data FILE --target COLUMN" in str(res.exception)
    res = cli.invoke(app, ["train", "--data", str(tmp_path / "nope.csv"), "--target", "y"])
    assert isinstance(res.exception, PdeError) and "does not exist" in str(res.exception)
    (tmp_path / "t.csv").write_text("a,y\n1,0\n")
    res = cli.invoke(app, ["train", "--data", str(tmp_path / "t.csv")])
    assert isinstance(res.exception, PdeError) and "--target COLUMN is required" in str(res.exception)


def test_time_and_id_column_errors(cli: CliRunner, tmp_path: Path):
    path = tmp_path / "t.csv"
    path.write_text("a,when,y\n1,2026-01-01,0\n2,not a date,1\n3,2026-01-03,1\n")
    res = cli.invoke(app, ["train", "--data", str(path), "--target", "y", "--time", "when"])
    assert isinstance(res.exception, PdeError)
    assert "time column `when` has 1 value(s) that are not dates, first 'not a date' at line 3" in str(res.exception)
    res = cli.invoke(app, ["train", "--data", str(path), "--target", "y", "--id", "cid"])
    assert isinstance(res.exception, PdeError) and "id column `cid` is not in" in str(res.exception)
    (tmp_path / "x.parquet").write_bytes(b"garbage")
    res = cli.invoke(app, ["train", "--data", str(tmp_path / "x.parquet"), "--target", "y"])
    assert isinstance(res.exception, PdeError) and "cannot read" in str(res.exception)
