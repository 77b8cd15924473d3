"""The demo champion's out-of-time fairness, stored by training: every configured attribute, every test row."""

from __future__ import annotations

import polars as pl
from sqlalchemy import Connection, text

from predelinquency.model.fairness import AGE_BANDS, age_band
from tests.support.bank import DemoBank


def test_training_stores_the_out_of_time_tests_fairness(demo_conn: Connection, demo_bank: DemoBank):
    metrics, params = demo_conn.execute(text("SELECT metrics, params FROM model_versions WHERE version = :v"),
                                        {"v": demo_bank.model_version}).one()
    fair, test = metrics["fairness"], params["split"]["test"]
    assert fair == demo_bank.train_metrics["fairness"]
    assert fair["population"] == "out-of-time test"
    assert fair["rows"] == fair["labelled_rows"] == test["rows"] > 0
    # jsonb keeps its own key order: the attributes are a set here
    assert set(fair["attributes"]) == {"age_band", "region", "employment_type", "segment"}
    customers = pl.DataFrame(demo_conn.execute(text(
        "SELECT age, region, employment_type, segment FROM customers")).mappings().all())
    known = {"age_band": set(age_band(customers["age"]).to_list()), "region": set(customers["region"]),
             "employment_type": set(customers["employment_type"]), "segment": set(customers["segment"])}
    flagged = set()
    for name, attr in fair["attributes"].items():
        groups = attr["groups"]
        assert {g["group"] for g in groups} <= known[name]
        assert sum(g["n"] for g in groups) == test["rows"]
        assert sum(g["defaults"] for g in groups) == test["defaults"]
        assert attr["reference_group"] in {g["group"] for g in groups if not g["too_small"]} | {
            g["group"] for g in groups if all(h["too_small"] for h in groups)}
        # one population: every attribute splits the same flagged rows
        flagged.add(round(sum(g["n"] * g["flagged_share"] for g in groups)))
        for g in groups:
            assert g["too_small"] == (g["n"] < 50) and g["plan_share"] is None
            assert g["observed_rate"] == round(g["defaults"] / g["n"], 6)
    assert len(flagged) == 1
    assert {g["group"] for g in fair["attributes"]["age_band"]["groups"]} <= set(AGE_BANDS)
    # the Low/Medium/High/Critical breakdown the model report shows counts the same flagged customers
    by_tier = {t["group"]: t["rows"] for t in metrics.get("by_tier", [])}
    if by_tier:
        assert flagged == {by_tier["High"] + by_tier["Critical"]}
    for alert in fair["alerts"]:
        group = next(g for g in fair["attributes"][alert["attribute"]]["groups"] if g["group"] == alert["group"])
        assert not group["too_small"] and group[alert["metric"]] == alert["value"]
