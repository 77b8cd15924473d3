import numpy as np
import pytest
from sqlalchemy import text

from predelinquency.errors import NotFound, PdeError
from predelinquency.model import registry
from predelinquency.model.calibration import Calibrator
from predelinquency.model.ensemble import RiskEnsemble
from predelinquency.model.pd_model import PDModel
from tests.support.synthetic import make_table

FAST = {"catboost": {"iterations": 40}, "xgboost": {"n_estimators": 40}, "lightgbm": {"n_estimators": 40}}


@pytest.fixture(scope="module")
def fitted():
    X, y, _ = make_table(1200, seed=5)
    ens = RiskEnsemble(params=FAST).fit(X.iloc[:800], y[:800])
    cal = Calibrator(method="platt").fit(ens.decision_function(X.iloc[800:]), y[800:])
    return ens, cal, X.iloc[800:]


def _register(conn, settings, fitted, **kw):
    ens, cal, _ = fitted
    model = PDModel(ens, cal, threshold=0.1, kind="tabular", meta={"target": "y"})
    metrics = {"oot_auc": 0.81, "ece": float("nan")}  # NaN must not break jsonb
    return registry.register(conn, settings, model, trained_by="alice", params={"rows": 800}, metrics=metrics,
                             baseline={"score": {"edges": [], "fractions": [1.0, 0.0]}, "features": {}}, **kw)


def _status(conn):
    return dict(conn.execute(text("SELECT version, status FROM model_versions")).all())


def test_first_is_champion_later_are_challengers_and_promotion_is_reversible(conn, settings, fitted):
    v1 = _register(conn, settings, fitted)["version"]
    v2 = _register(conn, settings, fitted)["version"]
    assert _status(conn) == {v1: "champion", v2: "challenger"}
    assert v1 < v2 or v1[:16] == v2[:16]  # time-sortable names (same second: random suffix)

    assert registry.promote(conn, v2, "bob") == {"version": v2, "previous_champion": v1, "changed": True}
    assert _status(conn) == {v1: "challenger", v2: "champion"}
    registry.promote(conn, v1, "carol")  # undo
    assert _status(conn) == {v1: "champion", v2: "challenger"}
    assert registry.promote(conn, v1, "carol")["changed"] is False

    promotions = conn.execute(text("SELECT version, previous_champion, promoted_by FROM model_promotions "
                                   "ORDER BY promotion_id")).all()
    assert [tuple(r) for r in promotions] == [(v2, v1, "bob"), (v1, v2, "carol")]
    audit = conn.execute(text("SELECT actor, entity, entity_id, before, after FROM action_audit_log "
                              "WHERE action = 'promote_model' ORDER BY audit_id")).all()
    assert [(a.actor, a.entity, a.entity_id) for a in audit] == [("bob", "model_version", v2),
                                                                   ("carol", "model_version", v1)]
    assert audit[0].before["champion"] == v1 and audit[0].after["champion"] == v2
    listed = registry.list_versions(conn)
    assert {r["version"] for r in listed} == {v1, v2} and listed[0]["oot_auc"] == 0.81


def test_load_model_scores_like_the_fitted_one_and_is_cached(conn, settings, fitted):
    ens, cal, X = fitted
    v = _register(conn, settings, fitted)["version"]
    registry.clear_cache()
    model = registry.load_model(settings, conn)
    assert model.version == v and model.threshold == 0.1 and model.feature_names == list(X.columns)
    assert np.allclose(model.predict_pd(X), cal.predict(ens.decision_function(X)))
    pd_, contrib = model.explain(X)
    assert np.allclose(pd_, model.predict_pd(X)) and contrib.shape == (len(X), X.shape[1])
    assert registry.load_model(settings, conn, v) is model
    files = sorted(p.name for p in (settings.models_dir / v).iterdir())
    assert files == ["metadata.json", "model.joblib"]


def test_load_model_errors(conn, settings, fitted):
    with pytest.raises(NotFound, match="no champion model: run pde train first"):
        registry.load_model(settings, conn)
    v = _register(conn, settings, fitted)["version"]
    with pytest.raises(NotFound, match="model version v7 does not exist"):
        registry.load_model(settings, conn, "v7")
    with pytest.raises(NotFound, match="v7 does not exist"):
        registry.promote(conn, "v7", "bob")

    registry.clear_cache()
    artifact = settings.models_dir / v / registry.ARTIFACT
    good = artifact.read_bytes()
    artifact.write_bytes(good[: len(good) // 2])
    with pytest.raises(PdeError, match="does not match the registered checksum"):
        registry.load_model(settings, conn, v)
    artifact.unlink()
    with pytest.raises(PdeError, match=r"artifact file .* is missing"):
        registry.load_model(settings, conn, v)


def test_unreadable_artifact_with_matching_checksum(conn, settings, fitted):
    v = _register(conn, settings, fitted)["version"]
    artifact = settings.models_dir / v / registry.ARTIFACT
    artifact.write_bytes(b"not a pickle")
    conn.execute(text("UPDATE model_versions SET params = params || jsonb_build_object('artifact_sha256', "
                      "CAST(:s AS text)) WHERE version = :v"), {"s": registry._sha256(artifact), "v": v})
    registry.clear_cache()
    with pytest.raises(PdeError, match="is unreadable"):
        registry.load_model(settings, conn, v)
