import math
from datetime import date, timedelta

from tests.support.feature_panels import AS_OF, PanelBuilder, accounts_frame, features_of, payments_frame


def ago(days: int) -> date:
    return AS_OF - timedelta(days=days)


def test_two_failed_debits_in_the_last_30_days(builder: PanelBuilder):
    builder.set("failed_debits", ago(3), 1).set("failed_debits", ago(20), 1).set("failed_debits", ago(40), 1)
    builder.set("failed_debits", AS_OF, 5)          # on as_of: not yet seen
    f = features_of(builder)
    assert f["failed_debits_30d"] == 2 and f["failed_debits_7d"] == 1 and f["failed_debits_90d"] == 3
    assert f["failed_debit_days_30d"] == 2 and f["days_since_failed_debit"] == 3
    assert f["failed_debits_30d_vs_prev60"] == 1.5


def test_a_payment_due_before_as_of_and_paid_after_it_is_past_due(builder: PanelBuilder):
    # the final outcome says "paid on time"-ish; at as_of it was still unpaid, 12 days past due
    pays = payments_frame([{"due_date": ago(12), "paid_date": AS_OF + timedelta(days=2), "status": "late",
                            "days_late": 14, "amount_due": 250.0, "amount_paid": 250.0}])
    f = features_of(builder, payments=pays)
    assert f["past_due_flag"] == 1 and f["past_due_count"] == 1
    assert f["past_due_days_max"] == 12 and f["past_due_amount"] == 250
    assert f["missed_instalments_30d"] == 1 and f["missed_instalments_90d"] == 1   # beyond the 5 grace days
    assert f["payment_days_late_last"] == 12 and f["payment_shortfall_90d"] == 250
    assert f["amount_paid_ratio_90d"] == 0 and f["days_since_missed_instalment"] == 12


def test_lateness_is_derived_from_dates_not_the_status_column(builder: PanelBuilder):
    pays = payments_frame([
        {"due_date": ago(80), "paid_date": ago(80), "status": "missed"},      # on time, whatever the status says
        {"due_date": ago(50), "paid_date": ago(47), "status": "paid"},        # 3 days late: late, within grace
        {"due_date": ago(20), "paid_date": ago(10), "status": "paid"},        # 10 days late: missed
        {"due_date": ago(2), "paid_date": None, "status": "pending"},         # 2 days past due, within grace
        {"due_date": AS_OF, "paid_date": None, "status": "missed"},           # due on as_of: not yet an obligation
        {"due_date": ago(200), "paid_date": ago(100), "status": "missed"},    # old history, paid long ago
    ])
    f = features_of(builder, payments=pays)
    assert f["payments_due_count_90d"] == 4
    assert f["payments_on_time_rate_90d"] == 0.25
    assert f["late_payments_count_90d"] == 1
    assert f["missed_instalments_30d"] == 1 and f["missed_instalments_60d"] == 1 and f["missed_instalments_90d"] == 1
    assert f["payment_days_late_max_90d"] == 10 and f["payment_days_late_mean_90d"] == 15 / 4
    assert f["payment_days_late_last"] == 2
    assert f["past_due_count"] == 1 and f["past_due_days_max"] == 2


def test_no_payments_means_nothing_past_due(builder: PanelBuilder):
    f = features_of(builder)
    assert f["past_due_flag"] == 0 and f["missed_instalments_90d"] == 0 and f["past_due_days_max"] == 0
    assert math.isnan(f["payments_on_time_rate_90d"]) and math.isnan(f["payment_days_late_last"])


def test_utility_paid_a_week_later_than_usual(builder: PanelBuilder):
    for d in (date(2025, 12, 5), date(2026, 1, 5), date(2026, 2, 12)):
        builder.set("utility_out", d, 80)
    f = features_of(builder)
    assert f["utility_day_drift_days"] == 7
    assert f["utility_days_since_last"] == 17 and f["utility_payment_days_90d"] == 3
    assert f["utility_missing_flag_30d"] == 0


def test_utility_drift_wraps_around_the_month_end(builder: PanelBuilder):
    for d in (date(2025, 12, 28), date(2026, 1, 28), date(2026, 2, 3)):
        builder.set("utility_out", d, 80)
    assert features_of(builder)["utility_day_drift_days"] == 5


def test_credit_products_opened_on_or_after_as_of_do_not_exist_yet(builder: PanelBuilder):
    acc = accounts_frame([
        {"account_id": 1, "customer_id": 1, "product_type": "personal_loan", "monthly_instalment": 200.0,
         "opened_on": date(2025, 6, 1)},
        {"account_id": 2, "customer_id": 1, "product_type": "credit_card", "monthly_instalment": None,
         "opened_on": ago(30)},
        {"account_id": 3, "customer_id": 1, "product_type": "personal_loan", "monthly_instalment": 900.0,
         "opened_on": AS_OF},
        {"account_id": 4, "customer_id": 1, "product_type": "current", "monthly_instalment": None,
         "opened_on": date(2020, 1, 1)},
    ])
    f = features_of(builder, accounts=acc)
    assert f["credit_accounts_count"] == 2
    assert f["instalment_monthly_total"] == 200
    assert f["newest_credit_account_age_days"] == 30
    assert f["instalment_to_declared_income"] == 200 / 3000
