"""The feature registry: every feature's name, family, unit, meaning, reason-code sentence and risk direction.

Reason codes, the dashboard and the model's feature list all read this; the order here is the column
order of compute_features. Each family module declares its own features next to the code computing them.
"""

from __future__ import annotations

from dataclasses import dataclass

from predelinquency.features import balance, cash, derived, payments, salary, spending, transactions

UNITS = frozenset({"days", "count", "currency", "ratio", "flag", "score"})
_FAMILY_MODULES = (salary, balance, spending, payments, cash, transactions, derived)
FAMILIES: tuple[str, ...] = tuple(m.FAMILY for m in _FAMILY_MODULES)
# Features whose distribution moves with the calendar rather than with customers: where as_of falls in the
# monthly pay and bill cycles (days since the salary or a bill, paydays inside a window, counts over windows
# that hold a different number of paydays) or plain ageing. One night's population differs from training's
# mixture of dates without any change in behaviour, so their drift is shown but never asks for a retrain
# (on the demo their PSI is high on a nightly right after training while the score's stays stable).
CALENDAR_FEATURES = frozenset({
    "salary_credit_days_90d", "salary_days_since_last", "utility_day_drift_days", "utility_days_since_last",
    "utility_payment_days_90d", "newest_credit_account_age_days", "txn_count_30d_vs_prev60",
    "balance_before_payday_last", "cash_before_payday_90d",
})


@dataclass(frozen=True)
class FeatureSpec:
    """One registered feature: what it is, how to say it to a person, and which way is risky."""

    name: str
    family: str
    unit: str
    description: str
    reason_template: str    # str.format template with {value}: the customer's own value
    risk_direction: int     # +1 higher is riskier, -1 lower is riskier, 0 unknown / depends
    calendar: bool = False  # moves with the calendar, not with behaviour (see CALENDAR_FEATURES)

    def reason(self, value: float) -> str:
        """The reason-code sentence for this customer's value, e.g. '2 auto-debits failed in the last 30 days'."""
        return self.reason_template.format(value=value)


REGISTRY: tuple[FeatureSpec, ...] = tuple(
    FeatureSpec(name=name, family=module.FAMILY, unit=unit, description=description,
                reason_template=template, risk_direction=direction, calendar=name in CALENDAR_FEATURES)
    for module in _FAMILY_MODULES
    for name, unit, direction, description, template in module.SPECS
)
FEATURE_NAMES: tuple[str, ...] = tuple(spec.name for spec in REGISTRY)
_BY_NAME: dict[str, FeatureSpec] = {spec.name: spec for spec in REGISTRY}


def get(name: str) -> FeatureSpec:
    """The spec of the feature called `name`; KeyError naming the feature if there is none."""
    try:
        return _BY_NAME[name]
    except KeyError:
        raise KeyError(f"no feature named {name!r} in the registry") from None


def by_family(family: str) -> tuple[FeatureSpec, ...]:
    """The specs of one family, in registry order."""
    if family not in FAMILIES:
        raise KeyError(f"no feature family {family!r}; families are {', '.join(FAMILIES)}")
    return tuple(spec for spec in REGISTRY if spec.family == family)


def names() -> tuple[str, ...]:
    """All feature names in the fixed registry order (the column order of compute_features)."""
    return FEATURE_NAMES
