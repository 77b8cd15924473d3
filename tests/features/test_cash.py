import math
from datetime import date, timedelta

from tests.support.feature_panels import AS_OF, PanelBuilder, customers_frame, features_of


def test_atm_spike_against_the_customers_own_baseline(builder: PanelBuilder):
    for days_ago in (80, 70, 60, 50):
        day = AS_OF - timedelta(days=days_ago)
        builder.set("atm_out", day, 50).set("atm_count", day, 1)
    builder.set("atm_out", AS_OF - timedelta(days=3), 300).set("atm_count", AS_OF - timedelta(days=3), 2)
    builder.set("outflow", AS_OF - timedelta(days=3), 600)
    f = features_of(builder)
    assert f["atm_out_7d"] == 300 and f["atm_out_30d"] == 300 and f["atm_out_90d"] == 500
    assert math.isclose(f["atm_out_14d_vs_90d"], (300 / 14) / (500 / 90))
    assert math.isclose(f["atm_out_30d_vs_prev60"], (300 / 30) / (200 / 60))
    assert f["atm_spike_days_30d"] == 1         # 300 > 2 x the usual 50 per ATM day
    assert f["atm_avg_withdrawal_30d"] == 150 and f["atm_share_of_spend_30d"] == 0.5
    assert f["atm_count_90d"] == 6 and f["atm_active_days_30d"] == 1


def test_cash_hoarding_before_pay_day(builder: PanelBuilder):
    # pay day the 15th: the 10th-14th are "before pay day"
    builder.set("atm_out", date(2026, 2, 12), 200).set("atm_out", date(2026, 1, 20), 200)
    f = features_of(builder, customers=customers_frame(salary_day=15))
    assert f["cash_before_payday_90d"] == 200
    assert f["cash_before_payday_share_90d"] == 0.5
    # 15 pre-pay-day days in the window (3 months x 5) against 75 others
    assert math.isclose(f["cash_before_payday_vs_other_ratio"], (200 / 15) / (200 / 75))


def test_no_atm_history_means_no_spike_baseline(builder: PanelBuilder):
    builder.set("atm_out", AS_OF - timedelta(days=2), 100)
    f = features_of(builder)
    assert math.isnan(f["atm_spike_days_30d"]) and math.isnan(f["atm_out_30d_vs_prev60"])
