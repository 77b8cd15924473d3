import math
from datetime import timedelta

from tests.support.feature_panels import AS_OF, PanelBuilder, features_of

RECENT = AS_OF - timedelta(days=5)
EARLIER = AS_OF - timedelta(days=45)


def test_counts_active_days_and_channel_mix(builder: PanelBuilder):
    builder.set("txn_count", EARLIER, 10).set("card_count", EARLIER, 8).set("online_count", EARLIER, 2)
    builder.set("txn_count", RECENT, 4).set("card_count", RECENT, 1).set("online_count", RECENT, 1)
    builder.set("atm_count", RECENT, 2).set("txn_count", AS_OF - timedelta(days=2), 6)
    builder.set("card_count", AS_OF - timedelta(days=2), 6).set("outflow", RECENT, 500)
    f = features_of(builder)
    assert f["txn_count_7d"] == 10 and f["txn_count_30d"] == 10 and f["txn_count_90d"] == 20
    assert f["active_days_30d"] == 2 and f["active_days_90d"] == 3 and f["days_since_last_txn"] == 2
    assert f["txn_per_active_day_30d"] == 5 and f["txn_avg_amount_30d"] == 50
    assert f["card_share_30d"] == 0.7 and f["online_share_30d"] == 0.1 and f["atm_share_of_txn_30d"] == 0.2
    assert math.isclose(f["card_share_change_30d"], 0.7 - 0.8)
    assert math.isclose(f["txn_count_30d_vs_prev60"], (10 / 30) / (10 / 60))


def test_gambling_and_new_lending_app_borrowing(builder: PanelBuilder):
    builder.set("gambling_out", RECENT, 50).set("gambling_count", RECENT, 3).set("outflow", RECENT, 200)
    builder.set("lending_app_in", RECENT, 300).set("inflow", RECENT, 300)
    builder.set("lending_app_out", AS_OF - timedelta(days=1), 100)
    f = features_of(builder)
    assert f["gambling_out_30d"] == 50 and f["gambling_count_90d"] == 3 and f["gambling_days_30d"] == 1
    assert f["gambling_share_of_spend_30d"] == 0.25
    assert f["lending_app_in_30d"] == 300 and f["lending_app_net_90d"] == 200
    assert f["lending_app_new_flag_30d"] == 1 and f["days_since_lending_app_credit"] == 5
    assert f["lending_app_share_of_income_90d"] == 1.0 and f["lending_app_credit_days_90d"] == 1


def test_borrowing_that_also_happened_before_is_not_new(builder: PanelBuilder):
    builder.set("lending_app_in", EARLIER, 100).set("lending_app_in", RECENT, 100)
    assert features_of(builder)["lending_app_new_flag_30d"] == 0
