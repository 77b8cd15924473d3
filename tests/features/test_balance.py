import math
from datetime import date, timedelta

import numpy as np

from tests.support.feature_panels import AS_OF, PanelBuilder, customers_frame, features_of

YESTERDAY = AS_OF - timedelta(days=1)


def test_days_below_zero_and_the_current_overdraft_streak(builder: PanelBuilder):
    builder.fill("balance", AS_OF - timedelta(days=40), AS_OF - timedelta(days=36), -10)   # 5 days, > 30 days ago
    builder.fill("balance", AS_OF - timedelta(days=4), YESTERDAY, -50)                     # the last 4 days
    builder.fill("balance", AS_OF, AS_OF + timedelta(days=20), -999)                       # after as_of: unseen
    f = features_of(builder)
    assert f["balance_days_below_zero_7d"] == 4
    assert f["balance_days_below_zero_30d"] == 4
    assert f["balance_days_below_zero_90d"] == 9
    assert f["balance_negative_streak_days"] == 4
    assert f["balance_below_zero_flag"] == 1
    assert f["balance_last"] == -50 and f["balance_min_90d"] == -50 and f["balance_max_90d"] == 100
    assert f["balance_max_drawdown_90d"] == 150 and f["balance_drawdown_from_peak"] == 150


def test_slope_of_a_straight_line_balance(builder: PanelBuilder):
    window = np.arange(90, dtype=np.float32) * 2.5 + 10
    builder.cols["balance"][0, builder.col(AS_OF - timedelta(days=90)):builder.col(AS_OF)] = window
    f = features_of(builder)
    assert math.isclose(f["balance_slope_90d"], 2.5, rel_tol=1e-6)
    assert math.isclose(f["balance_slope_30d"], 2.5, rel_tol=1e-6)
    assert math.isclose(f["balance_mean_30d_minus_prev60"], 2.5 * (74.5 - 29.5), rel_tol=1e-6)


def test_savings_drawdown(builder: PanelBuilder):
    builder.fill("savings_balance", AS_OF - timedelta(days=20), YESTERDAY, 400)
    builder.set("savings_out", AS_OF - timedelta(days=20), -600)
    f = features_of(builder)
    assert f["savings_max_drawdown_90d"] == 600
    assert f["savings_drawdown_ratio_90d"] == 0.6
    assert f["savings_change_30d"] == -600 and f["savings_change_90d"] == -600
    assert f["savings_net_transfer_30d"] == -600 and f["savings_withdrawal_days_30d"] == 1
    assert f["liquidity_last"] == 500


def test_balance_just_before_pay_day(builder: PanelBuilder):
    # pay day the 15th: the evenings of Dec 14, Jan 14 and Feb 14 are the days before
    builder.set("balance", date(2025, 12, 14), 10).set("balance", date(2026, 1, 14), 20)
    builder.set("balance", date(2026, 2, 14), 60)
    f = features_of(builder, customers=customers_frame(salary_day=15))
    assert f["balance_before_payday_last"] == 60
    assert f["balance_before_payday_mean_90d"] == 30


def test_a_leading_gap_takes_the_first_balance_seen_and_no_data_gives_nan():
    b = PanelBuilder(n=2)
    b.cols["balance"][0, :b.col(AS_OF - timedelta(days=10))] = np.nan
    b.cols["balance"][1, :] = np.nan
    first, nothing = features_of(b, customer=0), features_of(b, customer=1)
    assert first["balance_min_90d"] == 100 and first["balance_days_below_zero_90d"] == 0
    assert math.isnan(nothing["balance_last"]) and math.isnan(nothing["balance_days_below_zero_90d"])
