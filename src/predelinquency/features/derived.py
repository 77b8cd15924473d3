"""Derived family: ratios and interactions across families, and a fixed (not fitted) composite stress score.

The stress score is a weighted sum of warning signals, each standardised against a fixed alarm level
rather than against the current population: signal = clip((value - offset) / alarm, 0, 1), with missing
values counting as no signal, and score = 100 × Σ weight·signal / Σ weight. Fixed levels keep a customer's
score independent of who else is in the batch (the API scores one customer, the nightly job shards).
"""

from __future__ import annotations

import numpy as np

from predelinquency.features.ops import nan_to_zero, ratio

FAMILY = "derived"

# feature, offset, alarm level above the offset, weight: why each level is "clearly alarming"
STRESS_SIGNALS: tuple[tuple[str, float, float, float], ...] = (
    ("missed_instalments_90d", 0.0, 1.0, 3.0),          # any missed instalment
    ("past_due_days_max", 0.0, 30.0, 3.0),              # a month past due
    ("failed_debits_30d", 0.0, 2.0, 3.0),               # the policy rule's two failed debits
    ("salary_delay_days_last", 0.0, 10.0, 2.0),         # salary ten days late
    ("salary_missed_count_90d", 0.0, 1.0, 2.0),         # any missed salary
    ("balance_days_below_zero_30d", 0.0, 15.0, 2.0),    # overdrawn half the month
    ("lending_app_credit_days_90d", 0.0, 3.0, 2.0),     # repeated payday borrowing
    ("savings_drawdown_ratio_90d", 0.0, 0.5, 1.0),      # half the savings gone
    ("gambling_share_of_spend_30d", 0.0, 0.10, 1.0),    # a tenth of spending on gambling
    ("utility_day_drift_days", 0.0, 10.0, 1.0),         # bills paid ten days later than usual
    ("atm_out_30d_vs_prev60", 1.0, 1.0, 1.0),           # cash withdrawals doubled
    ("spend_to_income_ratio_30d", 1.0, 0.5, 1.0),       # spending 150% of money received
)

_OFFSETS = np.array([o for _, o, _, _ in STRESS_SIGNALS])
_ALARMS = np.array([a for _, _, a, _ in STRESS_SIGNALS])
_WEIGHTS = np.array([w for *_, w in STRESS_SIGNALS])

# name, unit, risk direction, description, reason template
SPECS: tuple[tuple[str, str, int, str, str], ...] = (
    ("liquidity_cover_months", "ratio", -1, "current account plus savings over average monthly spend (months)",
     "balances would cover {value:.1f} months of spending"),
    ("essential_cover_days", "days", -1, "current-account balance over daily essential spend (days)",
     "the balance covers {value:.0f} days of essential spending"),
    ("debt_service_to_income_90d", "ratio", 1, "debt repayments over money received, last 90 days",
     "debt repayments took {value:.0%} of money received"),
    ("debt_service_to_declared_income_30d", "ratio", 1, "debt repayments in the last 30 days over declared income",
     "debt repayments were {value:.0%} of the declared monthly income"),
    ("instalment_to_declared_income", "ratio", 1, "contractual monthly instalments over declared monthly income",
     "instalments are {value:.0%} of the declared monthly income"),
    ("net_flow_to_declared_income_30d", "ratio", -1, "money in minus money out, last 30 days, over declared income",
     "money in minus money out was {value:.0%} of a month's declared income"),
    ("gambling_to_income_ratio_90d", "ratio", 1, "gambling spend over money received, last 90 days",
     "gambling took {value:.0%} of money received"),
    ("lending_app_to_salary_ratio_90d", "ratio", 1, "lending-app credits over salary received, last 90 days",
     "lending-app loans equalled {value:.0%} of salary"),
    ("payment_trouble_events_30d", "count", 1, "missed instalments plus failed auto-debits in the last 30 days",
     "{value:.0f} missed or failed payments in the last 30 days"),
    ("failed_debits_x_overdrawn_days_30d", "score", 1, "failed debits (30 days) times overdrawn days (30 days)",
     "failed auto-debits while overdrawn (interaction {value:.0f})"),
    ("salary_delay_x_overdrawn", "days", 1, "salary delay in days if the account is overdrawn now, else 0",
     "salary {value:.0f} days late while overdrawn"),
    ("gambling_and_lending_app_flag_30d", "flag", 1, "1 if both gambling and lending-app credits in the last 30 days",
     "gambling while borrowing from lending apps"),
    ("income_down_spend_up_flag", "flag", 1, "1 if money received fell below 80% and spending rose above 110%",
     "income fell while spending rose"),
    ("warning_signals_count", "count", 1, "warning signals at or above their alarm level (see stress score)",
     "{value:.0f} warning signs at alarm level"),
    ("stress_score", "score", 1, "weighted share of warning signals at alarm level, 0 (none) to 100 (all)",
     "composite stress score {value:.0f} of 100"),
)


def stress_signals(features: dict[str, np.ndarray]) -> np.ndarray:
    """[n, len(STRESS_SIGNALS)] standardised warning signals in [0, 1], missing values as 0."""
    values = np.stack([features[name] for name, *_ in STRESS_SIGNALS], axis=1)
    # fmax/fmin skip NaN, so a missing value becomes 0 (no signal) in the same pass
    return np.fmin(np.fmax((values - _OFFSETS) / _ALARMS, 0.0), 1.0)


def derived_features(f: dict[str, np.ndarray], monthly_income: np.ndarray) -> dict[str, np.ndarray]:
    """Cross-family ratios, interactions and the composite stress score per customer, keyed by feature name."""
    signals = stress_signals(f)
    overdrawn = nan_to_zero(f["balance_below_zero_flag"]) > 0
    return {
        "liquidity_cover_months": ratio(f["liquidity_last"], f["spend_total_90d"] / 3.0),
        "essential_cover_days": ratio(f["balance_last"], f["spend_essential_30d"] / 30.0),
        "debt_service_to_income_90d": ratio(f["spend_debt_service_90d"], f["income_total_90d"]),
        "debt_service_to_declared_income_30d": ratio(f["spend_debt_service_30d"], monthly_income),
        "instalment_to_declared_income": ratio(f["instalment_monthly_total"], monthly_income),
        "net_flow_to_declared_income_30d": ratio(f["net_flow_30d"], monthly_income),
        "gambling_to_income_ratio_90d": ratio(f["gambling_out_90d"], f["income_total_90d"]),
        "lending_app_to_salary_ratio_90d": ratio(f["lending_app_in_90d"], f["salary_income_90d"]),
        "payment_trouble_events_30d": f["missed_instalments_30d"] + f["failed_debits_30d"],
        "failed_debits_x_overdrawn_days_30d": f["failed_debits_30d"] * nan_to_zero(f["balance_days_below_zero_30d"]),
        "salary_delay_x_overdrawn": np.where(overdrawn, np.clip(nan_to_zero(f["salary_delay_days_last"]), 0, None),
                                             0.0),
        "gambling_and_lending_app_flag_30d": ((f["gambling_out_30d"] > 0) & (f["lending_app_in_30d"] > 0))
        .astype(np.float64),
        "income_down_spend_up_flag": ((f["income_total_30d_vs_prev60"] < 0.8) & (f["spend_total_30d_vs_prev60"] > 1.1))
        .astype(np.float64),
        "warning_signals_count": (signals >= 1.0).sum(axis=1).astype(np.float64),
        "stress_score": 100.0 * (signals @ _WEIGHTS) / _WEIGHTS.sum(),
    }
