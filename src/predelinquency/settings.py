"""One Settings object: config/settings.yaml, overridden by environment variables, read once."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    YamlConfigSettingsSource,
)

from predelinquency.domain.vocabulary import Tier

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_CONFIG = REPO_ROOT / "config" / "settings.yaml"


class Simulation(BaseModel):
    target_miss_rate: float = Field(0.05, gt=0, lt=0.5)
    grace_days: int = Field(5, ge=0, le=30)
    txn_per_month_min: int = Field(50, ge=1)
    txn_per_month_max: int = Field(200, ge=1)
    chunk_customers: int = Field(10_000, ge=100)


class Features(BaseModel):
    window_days: int = Field(90, ge=30)
    outcome_days: int = Field(30, ge=1)


class Training(BaseModel):
    snapshot_every_days: int = Field(5, ge=1)
    oot_snapshots: int = Field(2, ge=1)
    validation_snapshots: int = Field(2, ge=1)
    validation_share: float = Field(0.2, gt=0, lt=0.9)
    imbalance: Literal["class_weights", "smote"] = "class_weights"
    search_iterations: int = Field(2, ge=1)
    cv_folds: int = Field(5, ge=2)
    max_features: int = Field(80, ge=0)  # 0 = every column; else the top N by a quick LightGBM's gain
    fit_ensemble_weights: bool = False
    ensemble_weights: dict[str, float] = {"catboost": 0.6, "xgboost": 0.2, "lightgbm": 0.2}
    random_seed: int = 42

    @field_validator("ensemble_weights")
    @classmethod
    def _weights_valid(cls, v: dict[str, float]) -> dict[str, float]:
        unknown = set(v) - {"catboost", "xgboost", "lightgbm"}
        if unknown:
            raise ValueError(f"unknown learners in ensemble_weights: {sorted(unknown)}")
        if any(w < 0 for w in v.values()) or sum(v.values()) <= 0:
            raise ValueError("ensemble_weights must be non-negative and not all zero")
        return v


class Costs(BaseModel):
    missed_default: float = Field(2000.0, gt=0)
    intervention: float = Field(60.0, gt=0)
    lgd: float = Field(0.45, gt=0, le=1)


class Scoring(BaseModel):
    base_score: int = 600
    base_odds: float = Field(50, gt=0)
    points_to_double_odds: float = Field(40, gt=0)
    min_score: int = 300
    max_score: int = 900
    tiers: dict[str, float] = {"medium": 0.05, "high": 0.15, "critical": 0.35}
    rating_bands: dict[str, int] = {"A": 780, "B": 720, "C": 660, "D": 600, "E": 540, "F": 300}

    @model_validator(mode="after")
    def _tiers_ordered(self) -> Scoring:
        t = self.tiers
        if set(t) != {"medium", "high", "critical"} or not 0 < t["medium"] < t["high"] < t["critical"] < 1:
            raise ValueError("scoring.tiers needs 0 < medium < high < critical < 1")
        return self


class ActionCost(BaseModel):
    success_rate: float = Field(ge=0, le=1)
    cost: float = Field(ge=0)


class PolicyRule(BaseModel):
    name: str
    description: str
    feature: str
    op: Literal[">=", ">", "<=", "<", "=="]
    value: float
    min_tier: Tier


class Operations(BaseModel):
    contact_cooldown_days: int = Field(7, ge=0)
    daily_contact_capacity: int = Field(150, ge=0)  # contacts the team can make a day; 0: no daily plan
    sla_hours: dict[str, int] = {"Critical": 24, "High": 72, "Medium": 168, "Low": 336}


class Auth(BaseModel):
    max_failed_logins: int = Field(5, ge=1)
    lockout_minutes: int = Field(15, ge=1)


class Nightly(BaseModel):
    shards: int = Field(8, ge=1, le=1024)
    schedule_time: str = Field("02:00", pattern=r"^([01]\d|2[0-3]):[0-5]\d$")


class Settings(BaseSettings):
    """Everything configurable. Build it once per process with `get_settings()` and pass it down."""

    model_config = SettingsConfigDict(env_prefix="PDE_", env_nested_delimiter="__", extra="forbid")

    database_url: str | None = Field(default=None, validation_alias="DATABASE_URL")
    data_dir: Path = Path("data")
    simulation: Simulation = Simulation()
    features: Features = Features()
    training: Training = Training()
    costs: Costs = Costs()
    scoring: Scoring = Scoring()
    actions: dict[str, ActionCost] = {}
    policy_rules: list[PolicyRule] = []
    operations: Operations = Operations()
    auth: Auth = Auth()
    nightly: Nightly = Nightly()

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        config_file = Path(os.environ.get("PDE_CONFIG", DEFAULT_CONFIG))
        yaml_source = YamlConfigSettingsSource(settings_cls, yaml_file=config_file)
        # later sources lose: explicit arguments, then environment, then the YAML file
        return init_settings, env_settings, yaml_source

    @property
    def pg_dir(self) -> Path:
        return self.data_dir.resolve() / "pg"

    @property
    def models_dir(self) -> Path:
        return self.data_dir.resolve() / "models"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide Settings, read on first use."""
    return Settings()
