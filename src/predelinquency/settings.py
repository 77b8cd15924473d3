"""One Settings object: config/settings.yaml, overridden by .env, overridden by environment variables; read once.

get_settings() checks every value when it reads them and raises SettingsError naming each invalid key the
way the user wrote it: the YAML key and its `PDE_...` environment variable.
"""

from __future__ import annotations

import os
from datetime import date
from functools import lru_cache
from itertools import pairwise
from pathlib import Path
from typing import Any, Literal

import yaml
from dotenv import load_dotenv
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    YamlConfigSettingsSource,
)

from predelinquency.domain.daily import WINDOW_DAYS
from predelinquency.domain.vocabulary import CONTACT_CHANNELS, INTERVENTION_TYPES, TIERS, Tier
from predelinquency.errors import PdeError

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_CONFIG = REPO_ROOT / "config" / "settings.yaml"
# the actions risk_scores.recommended_action accepts (sql/002): any other would fail the nightly's insert
RECOMMENDABLE_ACTIONS = ("soft_reminder", "agent_call", "restructuring_offer")
# keys that were settings once, and why they are not
_RETIRED = {
    ("features", "window_days"): f"not a setting: every feature is defined on a {WINDOW_DAYS}-day window",
    ("training", "search_iterations"): "replaced by search_trials (most trials per learner) and search_seconds",
    ("training", "fit_ensemble_weights"): "not a setting: the weights are always fitted on validation "
                                          "(ensemble_weights is their prior when one validation window tunes)",
}


class SettingsError(PdeError):
    """The configuration file, .env or environment holds invalid settings: one line per problem."""


class _Broken(ValueError):
    """A rule across keys is broken; `key` (inside the section being checked) is the one to change."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(message)
        self.key = key


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")  # a misspelt key is an error, not a silent default


class Simulation(_Section):
    target_miss_rate: float = Field(0.05, gt=0, lt=0.5)
    # The bank's grace period: an instalment paid up to this many days after its due date is late, beyond it
    # missed. Not only the generator's: it decides which payments the features count as missed and how long
    # after an outcome window its labels are known; changing it means retraining.
    grace_days: int = Field(5, ge=0, le=30)
    txn_per_month_min: int = Field(50, ge=1)
    txn_per_month_max: int = Field(200, ge=1)
    chunk_customers: int = Field(10_000, ge=100)

    @model_validator(mode="after")
    def _txn_range(self) -> Simulation:
        if self.txn_per_month_min > self.txn_per_month_max:
            raise _Broken("txn_per_month_min", f"must not exceed txn_per_month_max ({self.txn_per_month_max}), "
                                               f"got {self.txn_per_month_min}")
        return self


class Features(_Section):
    outcome_days: int = Field(30, ge=1)


class Training(_Section):
    snapshot_every_days: int = Field(5, ge=1)
    oot_snapshots: int = Field(2, ge=1)
    validation_snapshots: int = Field(2, ge=1)
    validation_share: float = Field(0.2, gt=0, lt=0.9)
    imbalance: Literal["class_weights", "smote"] = "class_weights"
    search_trials: int = Field(100, ge=1)  # most trials per learner; 1 = the defaults only, no search
    search_seconds: float = Field(40.0, gt=0)  # the whole search (all learners) on a bank's own table
    behavioural_search_seconds: float = Field(30.0, gt=0)  # the same for the behavioural model
    cv_folds: int = Field(5, ge=2)
    max_features: int = Field(80, ge=0)  # 0 = every column; else the top N by a quick LightGBM's gain
    ensemble_weights: dict[str, float] = {"catboost": 0.6, "xgboost": 0.2, "lightgbm": 0.2}
    monotone: dict[str, int] = {}  # column: +1 (PD never falls as it rises) or -1 (never rises)
    random_seed: int = 42

    @field_validator("ensemble_weights")
    @classmethod
    def _weights_valid(cls, v: dict[str, float]) -> dict[str, float]:
        # learner names are checked by the ensemble, which knows the registered learners (model/learners)
        if any(w < 0 for w in v.values()) or sum(v.values()) <= 0:
            raise ValueError("weights must be non-negative and not all zero")
        return v

    @field_validator("monotone")
    @classmethod
    def _monotone_valid(cls, v: dict[str, int]) -> dict[str, int]:
        # column names are checked against the table by the ensemble, which sees it
        bad = {c: d for c, d in v.items() if d not in (1, -1)}
        if bad:
            raise ValueError(f"each column takes +1 or -1, got {bad}")
        return v


class Costs(_Section):
    missed_default: float = Field(2000.0, gt=0)
    intervention: float = Field(60.0, gt=0)
    lgd: float = Field(0.45, gt=0, le=1)


class Scoring(_Section):
    base_score: int = 600
    base_odds: float = Field(50, gt=0)
    points_to_double_odds: float = Field(40, gt=0)
    min_score: int = 300
    max_score: int = 900
    tiers: dict[str, float] = {"medium": 0.05, "high": 0.15, "critical": 0.35}
    rating_bands: dict[str, int] = {"A": 780, "B": 720, "C": 660, "D": 600, "E": 540, "F": 300}

    @field_validator("tiers")
    @classmethod
    def _tiers_ordered(cls, t: dict[str, float]) -> dict[str, float]:
        if set(t) != {"medium", "high", "critical"} or not 0 < t["medium"] < t["high"] < t["critical"] < 1:
            raise ValueError(f"needs exactly medium, high and critical with 0 < medium < high < critical < 1, got {t}")
        return t

    @field_validator("rating_bands")
    @classmethod
    def _bands_ordered(cls, bands: dict[str, int]) -> dict[str, int]:
        if not bands:
            raise ValueError("needs at least one band")
        for (better, upper), (worse, lower) in pairwise(bands.items()):
            if lower >= upper:
                raise ValueError(f"lower bounds must fall from the best band to the worst: {worse} ({lower}) "
                                 f"is not below {better} ({upper})")
        return bands

    @model_validator(mode="after")
    def _scale(self) -> Scoring:
        if self.min_score >= self.max_score:
            raise _Broken("max_score", f"must be above min_score ({self.min_score}), got {self.max_score}")
        if not self.min_score <= self.base_score <= self.max_score:
            raise _Broken("base_score", f"must lie between min_score and max_score ({self.min_score}–"
                                        f"{self.max_score}), got {self.base_score}")
        unreachable = [name for name, bound in self.rating_bands.items() if bound > self.max_score]
        if unreachable:
            raise _Broken("rating_bands", f"{', '.join(unreachable)} start above max_score ({self.max_score}): "
                                          "no score could reach them")
        return self


class ActionCost(_Section):
    success_rate: float = Field(ge=0, le=1)
    cost: float = Field(ge=0)


class PolicyRule(_Section):
    name: str
    description: str
    feature: str
    op: Literal[">=", ">", "<=", "<", "=="]
    value: float
    min_tier: Tier


class Operations(_Section):
    contact_cooldown_days: int = Field(7, ge=0)
    daily_contact_capacity: int = Field(150, ge=0)  # contacts the team can make a day; 0: no daily plan
    # share of the plan's population held out at random as the control group that measures what contacts prevent
    holdout_share: float = Field(0.10, ge=0.0, lt=1.0)
    # an intervention's outcome: how the customer's next instalment due within this many days ended
    outcome_window_days: int = Field(30, ge=1, le=120)
    # the contact policy: at most this many contacts with a customer in any 30 business days (0: no limit) ...
    max_contacts_per_30_days: int = Field(2, ge=0)
    # ... and each action only through these channels (the first is the one the simulated team uses)
    action_channels: dict[str, list[str]] = {
        "soft_reminder": ["sms", "email", "app"], "agent_call": ["phone"],
        "restructuring_offer": ["phone", "branch", "email"], "payment_holiday": ["app", "phone", "email"],
        "financial_counselling": ["branch", "phone"]}

    @field_validator("action_channels")
    @classmethod
    def _known_channels(cls, v: dict[str, list[str]]) -> dict[str, list[str]]:
        missing = [a for a in INTERVENTION_TYPES if not v.get(a)]
        unknown = sorted(set(v) - set(INTERVENTION_TYPES))
        bad = sorted({c for chans in v.values() for c in chans} - set(CONTACT_CHANNELS))
        problems = ([f"no channel for {', '.join(missing)}"] if missing else []) + (
            [f"unknown action {', '.join(unknown)}"] if unknown else []) + (
            [f"unknown channel {', '.join(bad)} (channels: {', '.join(CONTACT_CHANNELS)})"] if bad else [])
        if problems:
            raise ValueError("; ".join(problems))
        return v
    # a random share of the plan's contacted get a random configured action instead of the best one, so every
    # action's effect is learned across the book, not only where the current policy sends it (0: never)
    exploration_share: float = Field(0.15, ge=0.0, le=1.0)
    # most contacts a day per channel (a channel not named: only the daily capacity limits it)
    channel_capacity: dict[str, int] = {}

    @field_validator("channel_capacity")
    @classmethod
    def _capacity_channels(cls, v: dict[str, int]) -> dict[str, int]:
        bad = sorted(set(v) - set(CONTACT_CHANNELS))
        if bad:
            raise ValueError(f"unknown channel {', '.join(bad)} (channels: {', '.join(CONTACT_CHANNELS)})")
        if any(n < 0 for n in v.values()):
            raise ValueError(f"capacities must be 0 or more, got {v}")
        return v
    sla_hours: dict[str, int] = {"Critical": 24, "High": 72, "Medium": 168, "Low": 336}

    @field_validator("sla_hours")
    @classmethod
    def _every_tier(cls, v: dict[str, int]) -> dict[str, int]:
        missing, unknown = [t for t in TIERS if t not in v], sorted(set(v) - set(TIERS))
        if missing or unknown:
            raise ValueError(f"needs one entry per tier ({', '.join(TIERS)}): "
                             + "; ".join(([f"missing {', '.join(missing)}"] if missing else [])
                                         + ([f"unknown {', '.join(unknown)}"] if unknown else [])))
        if any(h < 1 for h in v.values()):
            raise ValueError(f"hours must be at least 1, got {v}")
        return v


class Auth(_Section):
    # after max_failed_logins consecutive failures an account refuses logins for first_delay_seconds, doubling
    # with each further failure up to lockout_minutes (operations/users.py says why)
    max_failed_logins: int = Field(5, ge=1)
    first_delay_seconds: int = Field(5, ge=1, le=3600)
    lockout_minutes: int = Field(15, ge=1, le=1440)


class Nightly(_Section):
    shards: int = Field(8, ge=1, le=1024)
    schedule_time: str = Field("02:00", pattern=r"^([01]\d|2[0-3]):[0-5]\d$")
    # where the shards run: None in this process; "local:N" a Dask cluster of N worker processes for the run;
    # "tcp://HOST:PORT" a running Dask scheduler (docker-compose runs one)
    cluster: str | None = None
    task_retries: int = Field(2, ge=0, le=10)   # a shard's task is retried this often before the run fails


class Storage(_Section):
    """The time tables on TimescaleDB (sql/014, 016): old chunks compressed, the oldest optionally dropped, by age
    before the business date."""

    # transactions and daily balances stay uncompressed for the feature window plus this margin: the nightly's
    # reads, back-dated uploads and rollup recomputes then mostly touch uncompressed chunks
    compress_margin_days: int = Field(30, ge=0, le=3650)
    compress_scores_after_days: int = Field(90, ge=1, le=36_500)  # risk_scores: the Deep Dive reads them compressed
    retention_days: int | None = Field(None, ge=1)  # chunks older than this are dropped; None keeps everything

    @property
    def compress_history_after_days(self) -> int:
        return WINDOW_DAYS + self.compress_margin_days

    @model_validator(mode="after")
    def _retention_after_compression(self) -> Storage:
        if self.retention_days is not None and self.retention_days <= max(
                self.compress_history_after_days, self.compress_scores_after_days):
            raise _Broken("retention_days", f"must exceed the feature window plus compress_margin_days "
                                            f"({self.compress_history_after_days}) and compress_scores_after_days, "
                                            f"got {self.retention_days}")
        return self


class Ingest(_Section):
    """The dates a bank file may hold (see predelinquency.ingest.dates): a row outside them is rejected."""

    earliest_date: date = Field(date(2000, 1, 1), ge=date(1900, 1, 1))  # on a bank with no data yet
    max_days_before_first_data: int = Field(365, ge=0, le=36_500)
    max_days_after_business_date: int = Field(1, ge=0, le=366)
    max_days_ahead_due: int = Field(366, ge=0, le=3_660)  # payments scheduled ahead


class Governance(_Section):
    # customer attributes the fairness figures are broken down by; never model features (training refuses them)
    sensitive_attributes: list[str] = ["age_band", "region", "employment_type", "segment"]
    min_group_size: int = Field(50, ge=1)           # smaller groups are marked "too small to say"
    adverse_impact_min: float = Field(0.8, gt=0, le=1)  # flagged share vs the most favoured group: the four-fifths rule
    tpr_gap_max: float = Field(0.1, gt=0, le=1)     # true-positive-rate gap to the best-served group
    auc_floor: float = Field(0.65, gt=0.5, lt=1)    # an expected or realised AUC below it raises the retrain alert


class Uplift(_Section):
    """Learned treatment effects (model/uplift/): how much each action lowers a customer's chance of missing."""

    # the learned estimate and the actions' configured success rates weigh equally at this many effective outcomes
    # (1 / (1/contacted + 1/held out)) of an action; fewer outcomes lean on the prior, none use it alone
    prior_strength: int = Field(400, ge=1)
    min_outcomes: int = Field(100, ge=1)        # an action with fewer contacted outcomes is not learned at all
    test_share: float = Field(0.3, gt=0, lt=1)  # the newest plan dates held out to evaluate (Qini, uplift at k)
    # the nightly trains a challenger once this many plan outcomes have settled since the champion was trained
    retrain_new_outcomes: int = Field(2000, ge=1)


class Settings(BaseSettings):
    """Everything configurable. Build it once per process with `get_settings()` and pass it down."""

    model_config = SettingsConfigDict(env_prefix="PDE_", env_nested_delimiter="__", extra="forbid")

    database_url: str | None = Field(default=None, validation_alias="DATABASE_URL")
    # with DATABASE_URL: other roles for the jobs and for migrations (db/engine.py); unset, DATABASE_URL serves
    database_jobs_url: str | None = Field(default=None, validation_alias="DATABASE_JOBS_URL")
    database_owner_url: str | None = Field(default=None, validation_alias="DATABASE_OWNER_URL")
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
    governance: Governance = Governance()
    uplift: Uplift = Uplift()
    nightly: Nightly = Nightly()
    ingest: Ingest = Ingest()
    storage: Storage = Storage()

    @field_validator("actions")
    @classmethod
    def _recommendable(cls, v: dict[str, ActionCost]) -> dict[str, ActionCost]:
        unknown = sorted(set(v) - set(RECOMMENDABLE_ACTIONS))
        if unknown:
            raise ValueError(f"{', '.join(unknown)}: the nightly can recommend only {', '.join(RECOMMENDABLE_ACTIONS)}")
        return v

    @field_validator("policy_rules")
    @classmethod
    def _unique_names(cls, rules: list[PolicyRule]) -> list[PolicyRule]:
        names = [r.name for r in rules]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise ValueError(f"rule names must be unique: {', '.join(twice)} used more than once")
        return rules

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        yaml_source = YamlConfigSettingsSource(settings_cls, yaml_file=config_file())
        # later sources lose: explicit arguments, then environment (.env already in it), then the YAML file
        return init_settings, env_settings, yaml_source

    @property
    def pg_dir(self) -> Path:
        return self.data_dir.resolve() / "pg"

    @property
    def models_dir(self) -> Path:
        return self.data_dir.resolve() / "models"


def config_file() -> Path:
    """The YAML file settings are read from: PDE_CONFIG, else config/settings.yaml."""
    return Path(os.environ.get("PDE_CONFIG", DEFAULT_CONFIG))


def _where(loc: tuple[Any, ...]) -> str:
    """A setting as the user writes it: its YAML key and its environment variable."""
    if loc in (("DATABASE_URL",), ("DATABASE_JOBS_URL",), ("DATABASE_OWNER_URL",)):
        return loc[0]
    dotted = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in loc).lstrip(".")
    words = [str(p) for p in loc[:next((i for i, p in enumerate(loc) if isinstance(p, int)), len(loc))]]
    return f"{dotted} (PDE_{'__'.join(words).upper()})"


def _problem(error: Any) -> str:
    """One line for one pydantic error: which setting, what is wrong with it."""
    loc = tuple(error["loc"])
    cause = (error.get("ctx") or {}).get("error")
    if isinstance(cause, _Broken):
        loc, message = (*loc, cause.key), str(cause)
    elif error["type"] == "extra_forbidden":
        message = _RETIRED.get(loc, "not a setting (misspelt, or in the wrong section?)")
    else:
        message = error["msg"].removeprefix("Value error, ")
        if error["type"] not in ("missing", "value_error") and not isinstance(error.get("input"), dict | list):
            message += f", got {error.get('input')!r}"
    return f"{_where(loc)}: {message}"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide Settings, read on first use; SettingsError lists every invalid value."""
    load_dotenv(Path.cwd() / ".env", override=False)  # the environment wins over .env
    path = config_file()
    if "PDE_CONFIG" in os.environ and not path.is_file():
        raise SettingsError(f"PDE_CONFIG names {path}, which is not a file")
    try:
        return Settings()
    except ValidationError as exc:
        lines = [_problem(e) for e in exc.errors()]
        raise SettingsError(f"invalid settings ({path}, .env and PDE_ environment variables):\n  "
                            + "\n  ".join(lines)) from None
    except yaml.YAMLError as exc:
        raise SettingsError(f"{path} is not valid YAML: {exc}") from None
