import math
from datetime import date

import numpy as np
import polars as pl

from predelinquency.features.build import compute_features
from tests.support.feature_panels import AS_OF, PanelBuilder, accounts_frame, customers_frame, payments_frame


def test_rows_follow_the_panel_and_unknown_profiles_are_nan():
    b = PanelBuilder(n=3)
    customers = customers_frame(3, monthly_income=2000).filter(pl.col("customer_id") != 2)
    df = compute_features(b.panel(), AS_OF, customers, accounts_frame(), payments_frame())
    assert df["customer_id"].to_list() == [1, 2, 3]
    income = df["declared_monthly_income"].to_list()
    assert income[0] == 2000 and math.isnan(income[1]) and income[2] == 2000


def test_customers_in_the_frames_but_not_the_panel_are_ignored():
    b = PanelBuilder(n=1)
    pays = payments_frame([{"customer_id": 99, "due_date": date(2026, 2, 1)}])
    df = compute_features(b.panel(), AS_OF, customers_frame(1), accounts_frame(), pays)
    assert df.height == 1 and df["past_due_flag"][0] == 0


def test_customers_are_computed_independently():
    b = PanelBuilder(n=3)
    b.fill("balance", date(2026, 1, 1), date(2026, 2, 20), -30, customer=1)
    b.set("gambling_out", date(2026, 2, 2), 70, customer=2)
    together = compute_features(b.panel(), AS_OF, customers_frame(3), accounts_frame(), payments_frame())
    panel = b.panel()
    for i in range(3):
        alone = type(panel)(customer_ids=panel.customer_ids[i:i + 1], start=panel.start,
                            columns={k: v[i:i + 1] for k, v in panel.columns.items()})
        one = compute_features(alone, AS_OF, customers_frame(3), accounts_frame(), payments_frame())
        np.testing.assert_array_equal(one.to_numpy(), together[i].to_numpy())
