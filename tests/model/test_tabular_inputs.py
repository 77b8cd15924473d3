"""Bad inputs to `pde train --data` / `pde predict`: one clear line naming the column and line, or a handled result.

Handled, not refused: a column empty in every row is left out of the model (named in the registered params and
in a warning); a category never seen in training scores as a missing value (counted in predict's result).
Refused: a constant target, a target that is not 0/1 (two labels such as good/bad are not guessed), an id that
is empty or repeats.
"""

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import create_engine, text
from typer.testing import CliRunner

from predelinquency.cli import app
from predelinquency.errors import PdeError
from predelinquency.settings import get_settings
from tests.support.db import cloned_database
from tests.support.synthetic import make_table


@pytest.fixture(scope="module")
def db_url(pg_server_url: str) -> Iterator[str]:
    """One fresh database for the module: the trained model is shared by the tests that score with it."""
    with cloned_database(pg_server_url) as url:
        yield url


@pytest.fixture(scope="module")
def runner(db_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[CliRunner]:
    """A CliRunner on the module's database with the fastest training settings the tests use."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DATABASE_URL", db_url)
        mp.setenv("PDE_DATA_DIR", str(tmp_path_factory.mktemp("inputs") / "data"))
        mp.setenv("PDE_TRAINING__CV_FOLDS", "2")
        mp.setenv("PDE_TRAINING__SEARCH_TRIALS", "1")
        get_settings.cache_clear()
        yield CliRunner()
    get_settings.cache_clear()


@pytest.fixture(scope="module")
def table(tmp_path_factory: pytest.TempPathFactory) -> pd.DataFrame:
    """Loans with an id, a categorical `product`, a column nobody filled in, and the 0/1 target."""
    X, y, _ = make_table(1000, seed=5)
    return X.assign(customer_id=range(1000, 2000), notes=None, defaulted=y)


@pytest.fixture(scope="module")
def trained(runner: CliRunner, table: pd.DataFrame, tmp_path_factory: pytest.TempPathFactory) -> str:
    """The version trained once on `table` through `pde train --data`."""
    path = tmp_path_factory.mktemp("train") / "loans.csv"
    table.to_csv(path, index=False)
    return _json(runner.invoke(app, ["train", "--data", str(path), "--target", "defaulted", "--id", "customer_id",
                                     "--json"]))["version"]


def _json(result) -> dict:
    assert result.exit_code == 0, f"{result.exception!r}\n{result.output}"
    return json.loads(result.stdout.strip().splitlines()[-1])


def _refused(result, message: str) -> None:
    """The command failed with one PdeError line matching `message`."""
    assert isinstance(result.exception, PdeError), result.output
    assert "\n" not in str(result.exception) and re.search(message, str(result.exception)), str(result.exception)


BAD_TRAINING = {
    "constant_target": ("a,defaulted\n1,1\n2,1\n3,1\n", [], "`defaulted` has only 1s: need both defaults"),
    "good_bad_labels": ("a,defaulted\n1,good\n2,bad\n3,good\n", [],
                        "`defaulted` must be binary 0/1 with 1 = default; it has the labels 'bad' and 'good': "
                        "recode it, 1 for the label that means default"),
    "other_values": ("a,defaulted\n1,0\n2,1\n3,2\n", [], "found values: '0', '1', '2': recode it, 1 for a default"),
    "repeated_id": ("cid,a,defaulted\n7,1,0\n8,2,1\n9,3,0\n8,4,1\n", ["--id", "cid"],
                    r"id column `cid` repeats: 8 at line 3 and line 5, 1 repeat\(s\) in all: each row needs its own "
                    "id .*--time"),
    "repeated_id_and_time": ("cid,when,a,defaulted\n7,2026-01-01,1,0\n7,2026-02-01,2,1\n7,2026-02-01,3,0\n",
                             ["--id", "cid", "--time", "when"],
                             "id column `cid` repeats at the same `when`: 7 at line 3 and line 4"),
    "empty_id": ("cid,a,defaulted\n7,1,0\n,2,1\n", ["--id", "cid"], "id column `cid` has 1 empty value.*line 3"),
    "only_empty_features": ("a,b,defaulted\n,,0\n,,1\n", [],
                            r"no feature columns besides the target, id and time \(empty in every row: a, b\)"),
}


@pytest.mark.parametrize("case", sorted(BAD_TRAINING))
def test_bad_training_inputs_are_refused_in_one_line(runner: CliRunner, tmp_path: Path, case: str):
    content, options, message = BAD_TRAINING[case]
    path = tmp_path / f"{case}.csv"
    path.write_text(content)
    _refused(runner.invoke(app, ["train", "--data", str(path), "--target", "defaulted", *options]), message)


def test_a_column_empty_in_every_row_is_left_out(runner: CliRunner, trained: str, db_url: str, table: pd.DataFrame,
                                                 tmp_path: Path):
    eng = create_engine(db_url)
    with eng.connect() as c:
        params = c.execute(text("SELECT params FROM model_versions WHERE version = :v"), {"v": trained}).scalar_one()
    eng.dispose()
    assert params["empty_columns"] == ["notes"]
    # the file to score may still carry the column, or not: the model does not need it
    for name, frame in {"with.csv": table, "without.csv": table.drop(columns=["notes"])}.items():
        frame.to_csv(tmp_path / name, index=False)
        out = _json(runner.invoke(app, ["predict", "--data", str(tmp_path / name), "--out", str(tmp_path / "p.csv"),
                                        "--json"]))
        assert out["rows"] == 1000 and out["unseen_categories"] == {}


def test_an_unseen_category_scores_as_missing(runner: CliRunner, trained: str, table: pd.DataFrame, tmp_path: Path):
    row = table.drop(columns=["defaulted"]).iloc[[0, 0, 0]].reset_index(drop=True)
    row["customer_id"] = [1, 2, 3]
    row["product"] = ["platinum", None, "platinum"]  # never seen in training, missing, unseen again
    row.to_csv(tmp_path / "new.csv", index=False)
    out = _json(runner.invoke(app, ["predict", "--data", str(tmp_path / "new.csv"), "--out",
                                    str(tmp_path / "p.csv"), "--json"]))
    assert out["unseen_categories"] == {"product": 2}
    assert pd.read_csv(tmp_path / "p.csv")["probability"].nunique() == 1


def test_predict_refuses_a_repeated_id(runner: CliRunner, trained: str, table: pd.DataFrame, tmp_path: Path):
    rows = table.drop(columns=["defaulted"]).head(5).copy()
    rows.loc[3, "customer_id"] = rows.loc[0, "customer_id"]
    rows.to_csv(tmp_path / "dup.csv", index=False)
    out = tmp_path / "p.csv"
    _refused(runner.invoke(app, ["predict", "--data", str(tmp_path / "dup.csv"), "--out", str(out)]),
             "id column `customer_id` repeats: 1000 at line 2 and line 5")
    assert not out.exists()
