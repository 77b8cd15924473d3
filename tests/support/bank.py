"""Generated banks the tests share: the session's demo bank (tests/conftest.py) and what tests read of it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

# small and quick, but long enough for the out-of-time split: 90-day window, ~10 snapshots, 30-day outcome
DEMO = {"customers": 400, "days": 200, "seed": 3}
CUSTOMERS, DAYS = DEMO["customers"], DEMO["days"]


@dataclass(frozen=True)
class DemoBank:
    """The session's demo bank: a database template to clone and the data directory holding its models."""

    template: str
    data_dir: Path
    model_version: str  # the champion
    challenger: str
    as_of: date  # the latest nightly run (the day after the latest data)
    as_ofs: tuple[date, ...]  # every nightly run, oldest first
    train_metrics: dict
    generate_summary: dict


@dataclass(frozen=True)
class AdvancedBank:
    """The demo bank advanced ADVANCE_DAYS business days with the plan worked every day (a larger control group
    than the default, the test bank being small): settled plan rows, interventions and potential outcomes."""

    template: str
    data_dir: Path
    result: dict[str, Any]      # what advance_bank reported
    holdout_share: float


ADVANCE_DAYS = 60
ADVANCE_HOLDOUT = 0.3


@dataclass
class Bank:
    """A generated bank to read: an engine on a copy of it and what `generate_bank` reported."""

    engine: Engine
    result: dict[str, Any]

    @property
    def start(self) -> date:
        return date.fromisoformat(self.result["start_date"])

    @property
    def end(self) -> date:
        return date.fromisoformat(self.result["end_date"])
