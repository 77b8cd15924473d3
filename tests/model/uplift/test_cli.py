"""`pde train --effects`, `pde model list` / `promote` for uplift versions, and the nightly's automatic challenger,
through the real command line on copies of the advanced bank."""

from __future__ import annotations

import json
from pathlib import Path

from predelinquency.cli import app


def _json(result) -> dict:
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_train_effects_list_and_promote(uplift_cli) -> None:
    first = _json(uplift_cli.invoke(app, ["train", "--effects", "--json"]))
    assert first["version"].startswith("u") and first["status"] == "champion" and first["outcomes"] > 0
    figures = [f for f in first["metrics"]["actions"].values() if f["weight"] > 0 and "learned" in f]
    assert figures and all("coefficient" in f["learned"] and "curve" not in f["learned"] for f in figures)
    second = _json(uplift_cli.invoke(app, ["train", "--effects", "--json"]))
    assert second["status"] == "challenger"

    listed = _json(uplift_cli.invoke(app, ["model", "list", "--json"]))
    assert [m["version"] for m in listed["uplift"]] == [second["version"], first["version"]]
    assert listed["models"]  # the PD models are listed as before
    text = uplift_cli.invoke(app, ["model", "list"]).output
    assert "uplift model" in text and first["version"] in text

    promoted = _json(uplift_cli.invoke(app, ["model", "promote", second["version"], "--json"]))
    assert promoted == {"version": second["version"], "previous_champion": first["version"], "changed": True}
    back = uplift_cli.invoke(app, ["model", "promote", first["version"]])
    assert back.exit_code == 0 and f"{first['version']} is now the champion" in back.output

    human = uplift_cli.invoke(app, ["train", "--effects"])
    assert human.exit_code == 0 and "registered as challenger" in human.output and "Qini" in human.output


def test_effects_refuses_data(uplift_cli, tmp_path: Path) -> None:
    result = uplift_cli.invoke(app, ["train", "--effects", "--data", str(tmp_path / "x.csv")])
    assert result.exit_code != 0 and "takes no --data" in str(result.exception)


def test_nightly_trains_the_first_uplift_model(uplift_cli) -> None:
    out = _json(uplift_cli.invoke(app, ["nightly", "--json"]))
    effects = out["effects"]
    assert effects["due"] and effects["trained"]["status"] == "champion"
    # nothing new has settled since: the next nightly trains nothing
    again = _json(uplift_cli.invoke(app, ["nightly", "--json"]))["effects"]
    assert not again["due"] and again["trained"] is None and again["new_outcomes"] == 0


def test_a_failing_challenger_never_fails_the_nightly(uplift_cli, tmp_path: Path) -> None:
    models = tmp_path / "data" / "models"
    models.parent.mkdir(parents=True)
    models.write_text("not a directory")  # the uplift model's files cannot be written
    result = uplift_cli.invoke(app, ["nightly", "--json"])
    out = _json(result)
    assert out["rows"] > 0 and out["effects"]["trained"] is None and out["effects"]["error"]
