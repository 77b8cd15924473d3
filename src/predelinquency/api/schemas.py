"""Request and response bodies: requests forbid unknown fields and carry their limits, so the OpenAPI spec says them.

Limits mirror the database (bigint ids, no NUL in text) so that no accepted request can fail inside PostgreSQL.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

from predelinquency.domain.vocabulary import CONTACT_CHANNELS, CONTACT_RESULTS, INTERVENTION_TYPES, PAYMENT_OUTCOMES
from predelinquency.operations.holdout import MAX_REASON
from predelinquency.operations.interventions import STATUSES

BIGINT_MAX = 2**63 - 1
MAX_BATCH = 1000

CustomerId = Annotated[int, Field(ge=1, le=BIGINT_MAX, description="customer_id as in the customers table")]
UserId = Annotated[int, Field(ge=1, le=BIGINT_MAX, description="user_id of a user account")]
NO_NUL = r"^[^\x00]*$"  # PostgreSQL text cannot hold NUL
USERNAME = r"^[A-Za-z0-9_.@-]{2,64}$"  # the users.username CHECK
FreeText = Annotated[str, StringConstraints(max_length=2000, pattern=NO_NUL)]
Username = Annotated[str, StringConstraints(pattern=USERNAME)]
FeatureName = Annotated[str, StringConstraints(min_length=1, max_length=200)]
FeatureValue = Annotated[float, Field(allow_inf_nan=False)] | None
Tier = Literal["Low", "Medium", "High", "Critical"]
ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _iso_date(value: Any) -> Any:
    # pydantic would also read "0" or "1700000000" as a Unix time: a date typed by a person is YYYY-MM-DD
    if not isinstance(value, date) and not (isinstance(value, str) and ISO_DATE.fullmatch(value)):
        raise ValueError("a date is written YYYY-MM-DD, for example 2026-09-01")
    return value


IsoDate = Annotated[date, BeforeValidator(_iso_date)]
InterventionType = Literal[INTERVENTION_TYPES]  # the same lists as the operations and the CHECK constraints
Channel = Literal[CONTACT_CHANNELS]
InterventionStatus = Literal[STATUSES]
ContactResult = Literal[CONTACT_RESULTS]
PaymentOutcome = Literal[PAYMENT_OUTCOMES]


class Request(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Response(BaseModel):
    model_config = ConfigDict(extra="ignore")


# --- scoring ---------------------------------------------------------------------------------------------
class PredictRequest(Request):
    """Either a customer to score from the database, or a feature payload to score with the champion model."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"oneOf": [{"required": ["customer_id"]}, {"required": ["features"]}],
                           "examples": [{"customer_id": 1}, {"features": {"failed_debits_30d": 2}}]},
    )
    customer_id: CustomerId = None  # type: ignore[assignment]  # absent, never null
    features: dict[FeatureName, FeatureValue] = Field(  # type: ignore[assignment]
        None, max_length=1000, description="feature name → value; missing features and nulls are treated as unknown")

    @model_validator(mode="after")
    def _exactly_one(self) -> PredictRequest:
        if (self.customer_id is None) == (self.features is None):
            raise ValueError("give exactly one of customer_id (score a customer from the database) "
                             "or features (score a feature payload)")
        return self


class BatchPredictRequest(Request):
    customer_ids: list[CustomerId] = Field(min_length=1, max_length=MAX_BATCH,
                                           description=f"1 to {MAX_BATCH} customer ids; duplicates are scored once")


class Reason(Response):
    code: str
    feature: str
    family: str | None = None
    value: float | None = None
    contribution: float
    text: str


class Prediction(Response):
    """A scored customer (or feature payload): PD, score, tier, reasons and the recommended action."""

    customer_id: int | None = None
    as_of: date | None = None
    model_version: str | None = None
    pd: float
    score: int
    rating_band: str | None = None
    tier: Tier
    model_tier: Tier | None = None
    prev_pd: float | None = Field(None, description="PD of the customer's latest score before this as_of "
                                                    "(null: no earlier score, or a feature payload)")
    prev_tier: Tier | None = None
    score_change: int | None = Field(None, description="score minus the previous score (negative: riskier)")
    reasons: list[Reason] = []
    exposure: float | None = None
    expected_loss: float | None = None
    recommended_action: str | None = None
    expected_benefit: float | None = None
    uplift: float | None = Field(None, description="the recommended action's expected fall in the chance of "
                                                   "missing (null: no action is worth its cost)")
    action_uplift: dict[str, float] | None = Field(
        None, description="every configured action's expected fall in the chance of missing (null: none is worth "
                          "its cost)")
    why: str | None = Field(None, description="why this action, in plain words, and where the estimate comes from")
    urgency: int | None = None
    policy_rules: list[str] = []
    source: Literal["nightly", "computed"] | None = Field(
        None, description="'nightly': the stored score of the latest nightly run, served because nothing it was "
                          "computed from has changed since; 'computed': scored now from the latest data")


class BatchPrediction(Response):
    model_version: str | None
    count: int
    results: list[Prediction]


# --- portfolio reads -------------------------------------------------------------------------------------
class PortfolioStats(Response):
    """Portfolio figures for the champion's latest scoring date (zeros and nulls before the first run)."""

    as_of: date | None
    model_version: str | None
    customers_scored: int
    tiers: dict[Tier, int]
    average_pd: float | None
    total_exposure: float
    expected_loss: float
    expected_benefit: float
    recommended_actions: dict[str, int]
    policy_overrides: int = Field(description="customers whose tier a policy rule raised above the model's")
    tier_worsened: int = Field(description="customers whose tier is worse than at their previous score")
    open_interventions: int
    overdue_interventions: int
    assigned_customers: int


class HistoryQuery(Request):
    limit: int = Field(365, ge=1, le=1000, description="the newest this many daily scores")


class HighRiskQuery(Request):
    limit: int = Field(100, ge=1, le=1000, description="at most this many customers")
    tier: Tier | None = Field(None, description="only this tier (default: High and Critical)")


class ScorePoint(Response):
    as_of: date
    model_version: str
    pd: float
    score: int
    rating_band: str
    tier: Tier
    model_tier: Tier
    score_change: int | None
    exposure: float
    expected_loss: float
    recommended_action: str
    urgency: int
    reasons: list[Reason]
    policy_rules: list[str]


class CustomerHistory(Response):
    customer_id: int
    scores: list[ScorePoint] = Field(description="oldest first; on a day scored by several models, the champion's")


class RiskyCustomer(ScorePoint):
    customer_id: int
    expected_benefit: float
    assigned_officer: str | None


class HighRiskCustomers(Response):
    as_of: date | None
    model_version: str | None
    tiers: list[Tier]
    count: int
    customers: list[RiskyCustomer]


# --- writes ----------------------------------------------------------------------------------------------
class InterventionCreate(Request):
    customer_id: CustomerId
    intervention_type: InterventionType
    channel: Channel
    notes: FreeText | None = None
    assigned_to: UserId | None = Field(None, description="user_id of the officer or manager who will act")
    release_reason: Annotated[str, StringConstraints(min_length=1, max_length=MAX_REASON, pattern=NO_NUL)] | None = \
        Field(None, description="managers only: contact a customer in the control group anyway, for this reason "
                                "(audited). The customer leaves the control group and so the measurement of what "
                                "contacts prevent. Ignored for a customer who is not held out")


class Intervention(Response):
    intervention_id: int
    customer_id: int
    intervention_type: InterventionType
    channel: Channel
    status: InterventionStatus
    risk_as_of: date | None
    pd_at_action: float | None
    expected_benefit: float | None
    assigned_to: int | None
    created_by: int
    business_date: date = Field(description="the engine's 'today' when it was made (created_at is the wall clock)")
    created_at: datetime
    due_at: datetime
    updated_at: datetime
    notes: str | None
    row_version: int
    outcome_due_date: date | None = Field(description="the customer's next instalment due in the outcome window "
                                                      "(null: not settled yet, or none was due)")
    payment_outcome: PaymentOutcome | None = Field(
        description="how that instalment ended, settled by the nightly from the payments (null: not settled yet)")
    settled_on: date | None = Field(description="the business date the outcome was settled")


class AssignmentCreate(Request):
    customer_id: CustomerId
    officer: Username = Field(description="username of the officer or manager who takes the customer")
    reason: FreeText | None = None
    expected_current_officer_id: UserId | None = Field(
        None, description="the officer you saw holding the customer (null: you saw it unassigned); when it has "
                          "changed since, 409. Leave it out to reassign whoever holds the customer now")


class Assignment(Response):
    assignment_id: int
    customer_id: int
    officer_id: int
    officer: str
    assigned_by: int
    assigned_at: datetime
    ended_at: datetime | None
    reason: str | None
    previous_officer_id: int | None


class OutcomeCreate(Request):
    """The contact's result, as the officer saw it; whether a missed payment was prevented is measured, not recorded."""

    outcome: ContactResult = Field(description="what happened when the customer was contacted")
    responded_at: datetime | None = Field(None, description="when the customer responded (default: now)")
    notes: FreeText | None = None

    @field_validator("responded_at")
    @classmethod
    def _plausible(cls, v: datetime | None) -> datetime | None:
        if v is not None and not 1900 <= v.year <= 2200:
            raise ValueError("responded_at must be a date between the years 1900 and 2200")
        return v


class OutcomeRecorded(Response):
    outcome_id: int
    intervention_id: int
    outcome: ContactResult
    responded_at: datetime
    recorded_by: int
    recorded_at: datetime
    notes: str | None
    intervention: Intervention


# --- closing the loop: today's plan, the control group, measured effects ----------------------------------
class PlannedCustomer(Response):
    rank: int = Field(description="position in today's plan, 1 = contact first")
    customer_id: int
    recommended_action: str
    channel: str | None = Field(None, description="the channel the action is made through")
    tier: Tier
    pd: float
    expected_benefit: float = Field(description="expected loss prevented by the action minus its cost")
    uplift: float | None = Field(None, description="the action's expected fall in the chance of missing")
    action_cost: float | None = None
    assignment: Literal["policy", "explore"] = Field(
        "policy", description="'policy': the best action with room in its channel; 'explore': chosen at random "
                              "(operations.exploration_share) to learn what works")
    uplift_version: str | None = Field(None, description="the uplift model that estimated it (null: the "
                                                         "configured rates)")
    why: str | None = Field(description="why this action, in plain words")
    intervened_today: bool = Field(description="an intervention (not cancelled) was already made for the customer "
                                               "on this business date")


class ContactPlan(Response):
    """The customers the nightly planned to contact on the business date, highest expected net benefit first."""

    business_date: date
    count: int = Field(description="0 until the nightly has planned this business date")
    customers: list[PlannedCustomer]


class HoldoutSummary(Response):
    """The control group: the share of each day's plan held out, and how many customers are in it now."""

    business_date: date
    share: float = Field(description="share of each day's plan held out, from the next plan on")
    set_by: str = Field(description="who set the share ('settings': the configured default)")
    set_at: datetime | None
    held_out_now: int = Field(description="customers held out whose outcome window is open")
    released_now: int = Field(description="of those drawn into the control group, released by a manager for contact "
                                          "(excluded from the measurement)")
    contact_arm_now: int = Field(description="customers in the contact arm whose outcome window is open")


class HoldoutUpdate(Request):
    share: float = Field(ge=0, le=0.5, strict=True, allow_inf_nan=False,
                         description="share of each day's plan to hold out, 0 to 0.5; applies from the next plan on")


class HoldoutUpdated(HoldoutSummary):
    previous_share: float


class EffectsQuery(Request):
    since: IsoDate | None = Field(None, description="only plans of business dates from this day on")
    until: IsoDate | None = Field(None, description="only plans of business dates up to this day")

    @model_validator(mode="after")
    def _ordered(self) -> EffectsQuery:
        if self.since is not None and self.until is not None and self.since > self.until:
            raise ValueError(f"since ({self.since}) is after until ({self.until})")
        return self


class Effect(Response):
    """Contacted against held-out miss rates of one group of settled plan rows, and what follows from them."""

    contacted: int = Field(description="settled plan rows in the contact arm")
    holdout: int = Field(description="settled plan rows in the control group")
    missed_contacted: int
    missed_holdout: int
    miss_rate_contacted: float | None
    miss_rate_holdout: float | None
    uplift: float | None = Field(description="holdout miss rate minus contacted miss rate: the share of misses "
                                             "contacts prevent (null: an arm is empty)")
    ci_low: float | None = Field(description="95 % interval of the uplift")
    ci_high: float | None
    prevented_defaults: float | None = Field(description="uplift × contacted")
    prevented_defaults_ci: list[float] | None = Field(description="[low, high]")
    prevented_loss: float | None = Field(description="uplift applied to the contacted's exposure × LGD")
    prevented_loss_ci: list[float] | None = Field(description="[low, high]")
    contact_cost: float
    roi: float | None = Field(description="(prevented loss - contact cost) / contact cost")
    enough_data: bool = Field(description="false: the interval is too wide to act on yet")
    outcomes_needed: int = Field(description="more settled outcomes until it is narrow enough")
    true_uplift: float | None = Field(None, description="synthetic banks only: the generator's realised uplift for "
                                                        "the same customers")
    true_uplift_expected: float | None = Field(None, description="synthetic banks only: its expected uplift")
    true_units: int | None = Field(None, description="synthetic banks only: plan rows with potential outcomes")


class ActionEffect(Effect):
    action: str = Field(description="the recommended action of the plan rows")


class TierEffect(Effect):
    tier: Tier


class ActionTierEffect(Effect):
    action: str
    tier: Tier


class WeeklyEffect(Effect):
    week: date = Field(description="Monday of the week of the plans' business dates")


class NotMeasured(Response):
    """What the measurement leaves out, so nobody mistakes it for everything the team did."""

    awaiting_outcome: int = Field(description="plan rows whose outcome window has not closed")
    released_from_holdout: int
    no_instalment_due: int
    contacts_outside_plan: int = Field(description="interventions made for customers not in the day's contact arm")


class Effects(Response):
    """What contacts really prevent: the contact arm against the randomised control group."""

    business_date: date
    overall: Effect
    by_action: list[ActionEffect]
    by_tier: list[TierEffect]
    by_action_tier: list[ActionTierEffect]
    weekly: list[WeeklyEffect]
    not_measured: NotMeasured
    synthetic: bool = Field(description="a generated bank: true_uplift beside the measured uplift")
    method: str


# --- jobs and health -------------------------------------------------------------------------------------
class RunBrief(Response):
    """What a monitor may know of a batch run without a key: which kind, how it stands, when."""

    kind: str
    status: str = Field(description="'failed' also for a job whose process died while its row said running")
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


class RunSummary(RunBrief):
    run_id: int
    triggered_by: str
    progress: float
    message: str | None
    error: str | None


class RetrainingTrigger(Response):
    trigger_id: str
    triggered_by: str
    triggered_at: datetime
    finished: bool
    finished_at: datetime | None = None
    exit_code: int | None = None
    result: dict[str, Any] | None = Field(None, description="the JSON that `pde train --json` printed")
    error: str | None = Field(None, description="why the job failed, from its output")


class RetrainingStatus(Response):
    running: bool
    latest_run: RunSummary | None = Field(description="the newest 'train' batch run, whoever started it")
    last_trigger: RetrainingTrigger | None = Field(description="the newest retraining started through the API")


class Health(Response):
    """Without a key, what a monitor needs; with one, also the champion's version, its scores' date and the run's
    details (who started it, its error)."""

    status: Literal["ok", "degraded", "unavailable"]
    database: Literal["reachable", "unreachable"]
    champion_present: bool | None = Field(None, description="absent when the database is unreachable")
    champion_model: str | None = Field(None, description="with a key only")
    latest_scores_as_of: date | None = Field(None, description="with a key only")
    last_batch_run: RunSummary | RunBrief | None = Field(
        None, union_mode="left_to_right", description="the newest batch run; its details with a key only")
    detail: str | None = None
