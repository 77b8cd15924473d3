import math
from datetime import timedelta

from tests.support.feature_panels import AS_OF, PanelBuilder, features_of

RECENT = AS_OF - timedelta(days=10)     # in the last 30 days
EARLIER = AS_OF - timedelta(days=50)    # in the 60 days before them


def _spend(b: PanelBuilder, day, essential: float, discretionary: float) -> None:
    b.set("essential_out", day, essential).set("discretionary_out", day, discretionary)
    b.set("outflow", day, essential + discretionary)


def test_essential_share_and_its_shift(builder: PanelBuilder):
    _spend(builder, EARLIER, 100, 100)
    _spend(builder, RECENT, 90, 10)
    f = features_of(builder)
    assert f["spend_essential_30d"] == 90 and f["spend_discretionary_90d"] == 110
    assert f["spend_essential_share_30d"] == 0.9
    assert math.isclose(f["spend_essential_share_90d"], 190 / 300)
    assert math.isclose(f["spend_essential_share_change_30d"], 0.4)
    # mix moved from 50/50 to 90/10: total-variation distance 0.4
    assert math.isclose(f["spend_category_shift_30d_vs_prev60"], 0.4)
    assert math.isclose(f["spend_discretionary_30d_vs_prev60"], (10 / 30) / (100 / 60))


def test_an_unchanged_mix_has_no_shift_and_ratios_are_rates(builder: PanelBuilder):
    _spend(builder, EARLIER, 60, 20)
    _spend(builder, RECENT, 30, 10)
    f = features_of(builder)
    assert f["spend_category_shift_30d_vs_prev60"] == 0
    assert f["spend_total_30d_vs_prev60"] == 1.0   # 40 in 30 days is the same daily rate as 80 in 60


def test_spend_to_income(builder: PanelBuilder):
    _spend(builder, RECENT, 300, 300)
    builder.set("inflow", RECENT, 400).set("outflow", AS_OF, 10_000)   # as_of itself is not in the window
    f = features_of(builder)
    assert f["spend_to_income_ratio_30d"] == 1.5
    assert f["spend_to_declared_income_30d"] == 0.2
    assert f["net_flow_30d"] == -200
    assert f["spend_daily_max_30d"] == 600


def test_no_spending_leaves_shares_undefined(builder: PanelBuilder):
    f = features_of(builder)
    assert math.isnan(f["spend_essential_share_30d"]) and math.isnan(f["spend_category_shift_30d_vs_prev60"])
    assert f["spend_total_90d"] == 0
