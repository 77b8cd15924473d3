"""Settings: checked when read, each problem one line naming the YAML key and its PDE_ variable; .env read,
the environment winning over it."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from predelinquency.settings import DEFAULT_CONFIG, SettingsError, get_settings


@pytest.fixture(autouse=True)
def fresh(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """No .env, no PDE_ variables but the ones a test sets, and get_settings reading anew before and after."""
    monkeypatch.chdir(tmp_path)
    for name in [n for n in os.environ if n.startswith("PDE_") or n == "DATABASE_URL"]:
        monkeypatch.delenv(name)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def config(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, **changes: dict) -> Path:
    """The shipped configuration with some sections changed, as the file PDE_CONFIG names."""
    data = yaml.safe_load(DEFAULT_CONFIG.read_text())
    for section, values in changes.items():
        data[section] = {**data[section], **values} if isinstance(values, dict) else values
    path = tmp_path / "settings.yaml"
    path.write_text(yaml.safe_dump(data))
    monkeypatch.setenv("PDE_CONFIG", str(path))
    return path


def problems(excinfo: pytest.ExceptionInfo[SettingsError]) -> list[str]:
    return [line.strip() for line in str(excinfo.value).splitlines()[1:]]


def test_the_shipped_configuration_is_valid():
    s = get_settings()
    assert s.simulation.grace_days == 5 and s.scoring.tiers["critical"] == 0.35
    assert not hasattr(s.features, "window_days")


def test_each_invalid_value_is_one_line_naming_the_key(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    config(monkeypatch, tmp_path,
           simulation={"txn_per_month_min": 300},
           scoring={"tiers": {"medium": 0.2, "high": 0.1, "critical": 0.35},
                    "rating_bands": {"A": 700, "B": 720, "C": 300}},
           actions={"soft_reminder": {"success_rate": 0.1, "cost": 2.0}, "send_flowers": {"success_rate": 0.2,
                                                                                          "cost": 30.0}},
           operations={"sla_hours": {"Critical": 24, "High": 72}})
    monkeypatch.setenv("PDE_NIGHTLY__SHARDS", "0")
    with pytest.raises(SettingsError) as excinfo:
        get_settings()
    assert str(excinfo.value).startswith("invalid settings (")
    lines = problems(excinfo)
    assert len(lines) == 6, lines
    expected = {
        "simulation.txn_per_month_min (PDE_SIMULATION__TXN_PER_MONTH_MIN): must not exceed txn_per_month_max "
        "(200), got 300",
        "scoring.tiers (PDE_SCORING__TIERS): needs exactly medium, high and critical with 0 < medium < high",
        "scoring.rating_bands (PDE_SCORING__RATING_BANDS): lower bounds must fall from the best band to the worst: "
        "B (720) is not below A (700)",
        "actions (PDE_ACTIONS): send_flowers: the nightly can recommend only soft_reminder, agent_call,",
        "operations.sla_hours (PDE_OPERATIONS__SLA_HOURS): needs one entry per tier (Low, Medium, High, Critical): "
        "missing Low, Medium",
        "nightly.shards (PDE_NIGHTLY__SHARDS): Input should be greater than or equal to 1, got '0'",
    }
    for start in expected:
        assert any(line.startswith(start) for line in lines), (start, lines)


def test_retired_and_misspelt_keys_are_refused(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    config(monkeypatch, tmp_path, features={"window_days": 60}, costs={"lgd_": 0.4},
           policy_rules=[{"name": "r", "description": "d", "feature": "f", "op": ">=", "value": 1,
                          "min_tier": "Severe"}])
    with pytest.raises(SettingsError) as excinfo:
        get_settings()
    assert sorted(problems(excinfo)) == [
        "costs.lgd_ (PDE_COSTS__LGD_): not a setting (misspelt, or in the wrong section?)",
        "features.window_days (PDE_FEATURES__WINDOW_DAYS): not a setting: every feature is defined on a 90-day "
        "window",
        "policy_rules[0].min_tier (PDE_POLICY_RULES): Input should be 'Low', 'Medium', 'High' or 'Critical', "
        "got 'Severe'",
    ]


def test_a_missing_or_unreadable_config_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    monkeypatch.setenv("PDE_CONFIG", str(tmp_path / "nowhere.yaml"))
    with pytest.raises(SettingsError, match=r"PDE_CONFIG names .*nowhere\.yaml, which is not a file"):
        get_settings()
    (tmp_path / "broken.yaml").write_text("scoring: {tiers: [\n")
    monkeypatch.setenv("PDE_CONFIG", str(tmp_path / "broken.yaml"))
    get_settings.cache_clear()
    with pytest.raises(SettingsError, match=r"broken\.yaml is not valid YAML"):
        get_settings()


def test_dotenv_in_the_working_directory_applies_and_the_environment_wins(monkeypatch: pytest.MonkeyPatch,
                                                                          tmp_path: Path):
    dotenv = {"DATABASE_URL": "postgresql://pde@db.example:5432/pde", "PDE_COSTS__LGD": "0.3",
              "PDE_NIGHTLY__SHARDS": "3"}
    (tmp_path / ".env").write_text("".join(f"{k}={v}\n" for k, v in dotenv.items()))
    for name in dotenv:  # load_dotenv writes os.environ: registered here so monkeypatch removes them after
        monkeypatch.setenv(name, "")
        monkeypatch.delenv(name)
    monkeypatch.setenv("PDE_NIGHTLY__SHARDS", "5")
    s = get_settings()
    assert s.database_url == "postgresql://pde@db.example:5432/pde"
    assert s.costs.lgd == 0.3
    assert s.nightly.shards == 5


def test_the_cli_prints_the_problems_without_a_traceback(tmp_path: Path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("PDE_") and k != "DATABASE_URL"}
    env |= {"PDE_NIGHTLY__SHARDS": "0", "PDE_SCORING__TIERS": '{"medium": 0.5, "high": 0.1, "critical": 0.9}'}
    done = subprocess.run([sys.executable, "-m", "predelinquency.cli", "db", "status"], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    lines = done.stderr.splitlines()
    assert lines[0].startswith("error: invalid settings (")
    assert [line.split(":")[0].strip() for line in lines[1:]] == [
        "scoring.tiers (PDE_SCORING__TIERS)", "nightly.shards (PDE_NIGHTLY__SHARDS)"]
