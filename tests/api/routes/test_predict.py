"""POST /predict and /batch-predict: validation without a model, then scores from a trained champion on a copy
of the session's demo bank (generated, trained and scored by the real pipeline, see tests/conftest.py)."""

import json
from collections.abc import Iterator

import pytest

from predelinquency.operations import users as users_mod
from predelinquency.settings import Settings
from tests.support.api import Api, insert_customer, make_api


@pytest.mark.parametrize(("body", "loc", "words"), [
    ({}, ["body"], "give exactly one of customer_id"),
    ({"customer_id": 1, "features": {}}, ["body"], "give exactly one of customer_id"),
    ({"customer_id": None}, ["body", "customer_id"], "valid integer"),
    ({"customer_id": 0}, ["body", "customer_id"], "greater than or equal to 1"),
    ({"customer_id": 2**63}, ["body", "customer_id"], "less than or equal to"),
    ({"customer_id": 1, "segment": "mass"}, ["body", "segment"], "Extra inputs are not permitted"),
    ({"features": {"failed_debits_30d": "two"}}, ["body", "features", "failed_debits_30d"], "valid number"),
])
def test_predict_body_is_validated_field_by_field(api: Api, body, loc, words):
    r = api.client.post("/predict", headers=api.auth(), json=body)
    assert r.status_code == 422, r.text
    errors = r.json()["detail"]
    assert any(e["loc"] == loc and words in e["msg"] for e in errors), errors


@pytest.mark.parametrize("value", [b"NaN", b"Infinity", b"-1e400"])
def test_non_finite_values_are_refused_though_python_json_reads_them(api: Api, value: bytes):
    r = api.client.post("/predict", headers={**api.auth(), "Content-Type": "application/json"},
                        content=b'{"features": {"income_ratio": ' + value + b"}}")
    assert r.status_code == 422 and "finite number" in r.json()["message"]


def test_batch_over_1000_is_422_with_a_clear_message(api: Api):
    r = api.client.post("/batch-predict", headers=api.auth(), json={"customer_ids": list(range(1, 1502))})
    assert r.status_code == 422
    body = r.json()
    assert body["message"] == ("customer_ids: at most 1000 customer ids per request, got 1501; "
                               "split the batch into requests of 1000 or fewer")
    assert body["detail"][0]["loc"] == ["body", "customer_ids"] and "input" not in body["detail"][0]
    assert api.client.post("/batch-predict", headers=api.auth(), json={"customer_ids": []}).status_code == 422


def test_without_a_champion_scoring_is_503(api: Api):
    api.write(lambda c: insert_customer(c, 7))
    r = api.client.post("/predict", headers=api.auth(), json={"customer_id": 7})
    assert r.status_code == 503 and r.json() == {"detail": "no champion model: run pde train first"}


def test_a_tabular_champion_cannot_score_customers(api: Api):
    import numpy as np
    import pandas as pd

    from predelinquency.model.registry import register
    from predelinquency.model.train import train_table

    # a real model of a bank's own table (pde train --data) becomes the champion
    rng = np.random.default_rng(5)
    X = pd.DataFrame({"utilisation": rng.random(800), "months_on_book": rng.integers(1, 120, 800)})
    y = (rng.random(800) < 0.1 + 0.4 * X["utilisation"]).astype(int).to_numpy()
    api.settings.training = api.settings.training.model_copy(update={"cv_folds": 2})
    result = train_table(X, y, None, api.settings, kind="tabular", search_trials=1)
    api.write(lambda c: register(c, api.settings, result.model, trained_by="cli:test", params=result.params,
                                 metrics=result.metrics, baseline=result.baseline))
    r = api.client.post("/batch-predict", headers=api.auth(), json={"customer_ids": [insert_id(api)]})
    assert r.status_code == 503 and "is a tabular model" in r.json()["detail"]


def insert_id(api: Api) -> int:
    """A customer committed to the app's database."""
    return int(api.write(insert_customer))


# --- the real pipeline --------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def scored_api(demo_module_settings: Settings) -> Iterator[Api]:
    """An app on a copy of the demo bank: generated customers, a trained champion, three nightly runs."""
    from argon2 import PasswordHasher

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(users_mod, "_hasher", PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))
        gen = make_api(demo_module_settings)
        api = next(gen)
    yield api
    next(gen, None)


@pytest.fixture(scope="module")
def nightly(scored_api: Api) -> dict[int, dict]:
    """The latest nightly run's scores by customer_id."""
    rows = scored_api.sql("SELECT customer_id, as_of, model_version, pd, score, tier, prev_pd, prev_tier, score_change "
                          "FROM risk_scores "
                          "WHERE as_of = (SELECT max(as_of) FROM risk_scores)")
    return {r.customer_id: r._asdict() for r in rows}


@pytest.mark.slow
def test_predict_a_customer_like_the_nightly_run(scored_api: Api, nightly: dict[int, dict]):
    riskiest = max(nightly.values(), key=lambda r: r["pd"])
    r = scored_api.client.post("/predict", headers=scored_api.auth(), json={"customer_id": riskiest["customer_id"]})
    assert r.status_code == 200, r.text
    p = r.json()
    assert p["customer_id"] == riskiest["customer_id"] and p["model_version"] == riskiest["model_version"]
    assert 0 <= p["pd"] <= 1 and 300 <= p["score"] <= 900 and p["tier"] in ("Low", "Medium", "High", "Critical")
    assert p["recommended_action"] in ("none", "soft_reminder", "agent_call", "restructuring_offer")
    assert all({"code", "feature", "text", "contribution"} <= set(x) for x in p["reasons"]) and len(p["reasons"]) <= 3
    # nothing changed since the nightly run: its stored row is the answer (scoring/stored.py)
    assert p["source"] == "nightly" and p["as_of"] == riskiest["as_of"].isoformat()
    assert p["pd"] == riskiest["pd"] and p["tier"] == riskiest["tier"]
    # the change against the previous run, as the dashboard shows it (the demo bank has three runs)
    assert riskiest["prev_pd"] is not None
    assert (p["prev_pd"], p["prev_tier"], p["score_change"]) == (
        riskiest["prev_pd"], riskiest["prev_tier"], riskiest["score_change"])
    # the next-best action's expected effect per action and why, in plain words (the configured prior here)
    if p["recommended_action"] == "none":
        assert p["uplift"] is None and p["action_uplift"] is None
        assert p["why"] == "No contact is expected to prevent more than it costs."
    else:
        assert set(p["action_uplift"]) == set(scored_api.settings.actions)
        assert p["uplift"] == p["action_uplift"][p["recommended_action"]] > 0
        assert "expected to lower this customer's chance of missing from" in p["why"]
        assert p["why"].endswith("Estimate: the configured rate: no outcomes yet.")
    computed = scored_api.client.post("/batch-predict", headers=scored_api.auth(),
                                      json={"customer_ids": [riskiest["customer_id"]]}).json()["results"][0]
    assert computed["why"] == p["why"] and computed["action_uplift"] == p["action_uplift"]
    assert json.dumps(p)  # finite numbers only: NaN would not be JSON


@pytest.mark.slow
def test_unknown_customer_is_404(scored_api: Api):
    r = scored_api.client.post("/predict", headers=scored_api.auth(), json={"customer_id": 987_654_321})
    assert r.status_code == 404 and "987654321" in r.json()["detail"]
    r = scored_api.client.post("/batch-predict", headers=scored_api.auth(), json={"customer_ids": [987_654_321]})
    assert r.status_code == 404 and "987654321" in r.json()["detail"]


@pytest.mark.slow
def test_batch_keeps_the_order_and_scores_a_repeat_once(scored_api: Api, nightly: dict[int, dict]):
    ids = sorted(nightly)[:5][::-1]
    r = scored_api.client.post("/batch-predict", headers=scored_api.auth(), json={"customer_ids": [*ids, ids[0]]})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["count"] == 5 and [p["customer_id"] for p in body["results"]] == ids
    single = scored_api.client.post("/predict", headers=scored_api.auth(), json={"customer_id": ids[2]}).json()
    assert body["results"][2]["pd"] == pytest.approx(single["pd"])


@pytest.mark.slow
def test_feature_payload_is_scored_with_the_champion(scored_api: Api):
    empty = scored_api.client.post("/predict", headers=scored_api.auth(), json={"features": {}})
    assert empty.status_code == 200, empty.text
    risky = scored_api.client.post("/predict", headers=scored_api.auth(), json={"features": {
        "failed_debits_30d": 4, "missed_instalments_90d": 2}})
    assert risky.status_code == 200, risky.text
    p = risky.json()
    assert p["customer_id"] is None and p["model_version"] == empty.json()["model_version"]
    # the configured policy rules fire on payload values too
    assert p["tier"] in ("High", "Critical") and set(p["policy_rules"]) == {"two_failed_debits",
                                                                          "missed_instalment_recent"}


@pytest.mark.slow
def test_reads_on_the_nightly_scores(scored_api: Api, nightly: dict[int, dict]):
    stats = scored_api.client.get("/stats", headers=scored_api.auth()).json()
    assert stats["customers_scored"] == len(nightly) and sum(stats["tiers"].values()) == len(nightly)
    top = scored_api.client.get("/high-risk-customers?limit=3&tier=Low", headers=scored_api.auth()).json()
    assert all(c["tier"] == "Low" for c in top["customers"]) and top["count"] <= 3
    cid = next(iter(nightly))
    history = scored_api.client.get(f"/customers/{cid}/history", headers=scored_api.auth()).json()
    runs = scored_api.sql("SELECT count(DISTINCT as_of) FROM risk_scores")[0][0]
    latest = max(history["scores"], key=lambda h: h["as_of"])
    assert len(history["scores"]) == runs == 3 and latest["pd"] == nightly[cid]["pd"]
    health = scored_api.client.get("/health", headers=scored_api.auth()).json()  # the version is shown with a key
    assert health["status"] == "ok" and health["champion_model"] == nightly[cid]["model_version"]


@pytest.mark.slow
@pytest.mark.parametrize("value", [1e308, -1e308, 5e-324, -0.0, 2**63, -(2**63)])
def test_extreme_feature_values_are_scored_or_refused_never_a_server_error(scored_api: Api, value: float):
    from fastapi.testclient import TestClient

    from predelinquency.features.registry import FEATURE_NAMES

    client = TestClient(scored_api.client.app, raise_server_exceptions=False)
    r = client.post("/predict", headers=scored_api.auth(), json={"features": dict.fromkeys(FEATURE_NAMES, value)})
    assert r.status_code in (200, 422), r.text
    if r.status_code == 200:
        assert 0 <= r.json()["pd"] <= 1 and 300 <= r.json()["score"] <= 900


@pytest.mark.slow
def test_unknown_feature_names_are_named_one_by_one(scored_api: Api):
    r = scored_api.client.post("/predict", headers=scored_api.auth(), json={"features": {
        "failed_debits_30d": 2, "shoe_size": 44, "favourite_colour": None}})
    assert r.status_code == 422
    body = r.json()
    assert [e["loc"] for e in body["detail"]] == [["body", "features", "shoe_size"],
                                                  ["body", "features", "favourite_colour"]]
    assert "unknown feature 'shoe_size': neither the champion model" in body["message"]
