import math
from datetime import timedelta

import numpy as np
import pytest

from predelinquency.features.derived import STRESS_SIGNALS, stress_signals
from tests.support.feature_panels import AS_OF, PanelBuilder, customers_frame, features_of


def test_signals_are_scaled_to_their_alarm_level_and_missing_means_no_signal():
    values = {name: np.array([0.0, offset + alarm / 2, offset + 10 * alarm, np.nan])
              for name, offset, alarm, _ in STRESS_SIGNALS}
    s = stress_signals(values)
    np.testing.assert_allclose(s[0], 0)
    np.testing.assert_allclose(s[1], 0.5)
    np.testing.assert_allclose(s[2], 1)
    np.testing.assert_allclose(s[3], 0)


def test_a_quiet_customer_paid_on_time_has_no_stress(builder: PanelBuilder):
    f = features_of(builder, customers=customers_frame(salary_day=None))
    assert f["stress_score"] == 0 and f["warning_signals_count"] == 0


def test_stress_score_is_the_weighted_share_of_signals_at_alarm(builder: PanelBuilder):
    builder.set("failed_debits", AS_OF - timedelta(days=3), 2)                       # failed_debits_30d at alarm
    builder.fill("balance", AS_OF - timedelta(days=15), AS_OF - timedelta(days=1), -1)  # 15 overdrawn days: alarm
    f = features_of(builder, customers=customers_frame(salary_day=None))
    weights = {name: w for name, _, _, w in STRESS_SIGNALS}
    expected = 100 * (weights["failed_debits_30d"] + weights["balance_days_below_zero_30d"]) / sum(weights.values())
    assert f["stress_score"] == pytest.approx(expected)
    assert f["warning_signals_count"] == 2
    assert f["failed_debits_x_overdrawn_days_30d"] == 30
    assert f["payment_trouble_events_30d"] == 2


def test_cross_family_ratios(builder: PanelBuilder):
    builder.set("debt_service_out", AS_OF - timedelta(days=5), 600).set("inflow", AS_OF - timedelta(days=5), 2400)
    builder.set("essential_out", AS_OF - timedelta(days=5), 300).set("outflow", AS_OF - timedelta(days=5), 900)
    f = features_of(builder)
    assert f["debt_service_to_income_90d"] == 0.25
    assert f["debt_service_to_declared_income_30d"] == 0.2
    assert f["essential_cover_days"] == 100 / (300 / 30)
    assert math.isclose(f["liquidity_cover_months"], 1100 / 300)
