import math
from datetime import date

import numpy as np

from tests.support.feature_panels import AS_OF, PanelBuilder, customers_frame, features_of

# AS_OF is 2026-03-01: pay days on the 15th give cycles Dec 15 and Jan 15 (complete) and Feb 15 (still open)


def _paid(b: PanelBuilder, *days: date, amount: float = 3000) -> PanelBuilder:
    for d in days:
        b.set("salary_in", d, amount).set("inflow", d, amount)
    return b


def test_a_salary_six_days_late_gives_delay_six(builder: PanelBuilder):
    _paid(builder, date(2025, 12, 15), date(2026, 1, 15), date(2026, 2, 21))
    f = features_of(builder)
    assert f["salary_delay_days_last"] == 6
    assert f["salary_delay_days_max_90d"] == 6
    assert f["salary_delay_days_mean_90d"] == 2
    assert f["salary_delay_vs_own_days"] == 6
    assert f["salary_overdue_days"] == 0
    assert f["salary_missed_count_90d"] == 0 and f["salary_missed_last_flag"] == 0
    assert f["salary_cycles_observed_90d"] == 3
    assert f["salary_income_90d"] == 9000 and f["salary_income_30d"] == 3000
    assert f["salary_to_declared_income_ratio"] == 1.0 and f["salary_shortfall_vs_declared"] == 0
    assert f["salary_days_since_last"] == 8  # Feb 21 -> Mar 1
    assert f["has_salary_flag"] == 1


def test_a_month_without_salary_is_missed(builder: PanelBuilder):
    _paid(builder, date(2025, 12, 15), date(2026, 2, 15))
    f = features_of(builder)
    assert f["salary_missed_count_90d"] == 1
    assert f["salary_missed_last_flag"] == 1
    assert f["salary_delay_days_last"] == 0
    assert f["salary_delay_days_max_90d"] == 23  # the missed cycle counts as late for its whole span
    assert f["salary_to_declared_income_ratio"] == 2 / 3


def test_salary_not_yet_arrived_is_overdue_by_the_days_since_pay_day(builder: PanelBuilder):
    _paid(builder, date(2025, 12, 26), date(2026, 1, 26))
    # salary_day 26: the Feb 26 salary has not come by Mar 1 (a salary credited on as_of itself is not seen)
    builder.set("salary_in", AS_OF, 3000)
    f = features_of(builder, customers=customers_frame(salary_day=26))
    assert f["salary_overdue_days"] == 3
    assert f["salary_delay_days_last"] == 3


def test_without_a_declared_pay_day_the_customers_own_history_is_used(builder: PanelBuilder):
    _paid(builder, date(2025, 12, 10), date(2026, 1, 10), date(2026, 2, 16))
    f = features_of(builder, customers=customers_frame(salary_day=None))
    assert f["salary_delay_days_last"] == 6


def test_income_trend_and_volatility(builder: PanelBuilder):
    _paid(builder, date(2025, 12, 15), date(2026, 1, 15))
    _paid(builder, date(2026, 2, 15), amount=1500)
    f = features_of(builder)
    assert f["salary_last_vs_prev_ratio"] == 0.5
    assert f["salary_last_amount"] == 1500
    assert math.isclose(f["salary_income_cv_90d"], float(np.std([3000, 3000, 1500]) / 2500))
    assert math.isclose(f["income_total_30d_vs_prev60"], (1500 / 30) / (6000 / 60))


def test_no_salary_and_no_pay_day_leaves_timing_undefined(builder: PanelBuilder):
    f = features_of(builder, customers=customers_frame(salary_day=None))
    for name in ("salary_delay_days_last", "salary_missed_count_90d", "salary_overdue_days", "salary_last_amount",
                 "salary_days_since_last", "salary_to_declared_income_ratio"):
        assert math.isnan(f[name]), name
    assert f["has_salary_flag"] == 0 and f["salary_cycles_observed_90d"] == 0
