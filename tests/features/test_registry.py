import polars as pl
import pytest

from predelinquency.features import registry
from predelinquency.features.build import compute_features
from predelinquency.features.registry import FAMILIES, REGISTRY, UNITS, by_family, get, names
from predelinquency.settings import Settings
from tests.support.feature_panels import AS_OF, PanelBuilder, accounts_frame, customers_frame, payments_frame


def test_registry_has_at_least_100_unique_features_in_seven_families():
    assert len(REGISTRY) >= 100
    assert len(set(names())) == len(names())
    assert FAMILIES == ("salary", "balance", "spending", "payments", "cash", "transactions", "derived")
    assert all(by_family(f) for f in FAMILIES)
    assert sum(len(by_family(f)) for f in FAMILIES) == len(REGISTRY)


@pytest.mark.parametrize("spec", REGISTRY, ids=lambda s: s.name)
def test_every_feature_is_fully_described(spec: registry.FeatureSpec):
    assert spec.name == spec.name.lower() and " " not in spec.name
    assert spec.unit in UNITS
    assert spec.description.strip() and spec.reason_template.strip()
    assert spec.risk_direction in (-1, 0, 1)
    text = spec.reason(2.0)
    assert "{" not in text and "}" not in text


def test_policy_rule_features_are_registered():
    for rule in Settings().policy_rules:
        assert get(rule.feature).name == rule.feature
    assert get("failed_debits_30d").reason(2) == "2 auto-debits failed in the last 30 days"
    assert get("salary_delay_days_last").reason(6) == "salary arrived 6 days later than usual"


def test_lookups():
    assert get("stress_score").family == "derived"
    assert by_family("cash")[0].name == "atm_out_7d"
    with pytest.raises(KeyError, match="no_such"):
        get("no_such")
    with pytest.raises(KeyError, match="families are"):
        by_family("nope")


def test_compute_features_returns_exactly_the_registry_columns_in_order():
    df = _compute(PanelBuilder(n=3))
    assert df.columns == ["customer_id", *names()]
    assert df["customer_id"].to_list() == [1, 2, 3]
    assert df.schema["customer_id"] == pl.Int64
    assert all(df.schema[n] == pl.Float64 for n in names())


def test_one_customer_frame_has_the_same_shape_as_a_batch():
    one, many = _compute(PanelBuilder(n=1)), _compute(PanelBuilder(n=40))
    assert one.schema == many.schema


def _compute(b: PanelBuilder) -> pl.DataFrame:
    return compute_features(b.panel(), AS_OF, customers_frame(b.n), accounts_frame(), payments_frame())


def test_calendar_features_are_registered_and_flagged():
    assert set(registry.FEATURE_NAMES) >= registry.CALENDAR_FEATURES
    assert {s.name for s in registry.REGISTRY if s.calendar} == registry.CALENDAR_FEATURES
