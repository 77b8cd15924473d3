"""Training is reproducible: the same data, settings and trial counts give the same metrics and the same PDs."""

from datetime import timedelta
from typing import Any

import numpy as np
import pytest
from sqlalchemy import create_engine

from predelinquency.db.inputs import load_feature_inputs
from predelinquency.model.behavioural import data_span, train_behavioural
from predelinquency.model.dataset import build_snapshots, snapshot_dates
from predelinquency.model.learners import LEARNERS
from predelinquency.model.registry import load_model
from predelinquency.model.train import train_table
from predelinquency.settings import Settings, Training
from tests.support.synthetic import make_table


def _without_timings(params: dict[str, Any]) -> dict[str, Any]:
    """The params with the wall-clock figures (which legitimately vary) left out."""
    search = {n: {k: v for k, v in r.items() if k != "seconds"} for n, r in params["search"].items()}
    return {**{k: v for k, v in params.items() if k != "search_seconds"}, "search": search}


def test_the_behavioural_model_trains_the_same_twice(demo_settings, tmp_path):
    # its own models directory: the demo bank's artifacts are shared with other tests
    settings = demo_settings.model_copy(update={"data_dir": tmp_path / "data"})
    engine = create_engine(settings.database_url)
    try:
        first = train_behavioural(engine, settings, "system:test")
        second = train_behavioural(engine, settings, "system:test")
        assert first["version"] != second["version"]
        assert second["metrics"] == first["metrics"]
        with engine.connect() as conn:
            a, b = load_model(settings, conn, first["version"]), load_model(settings, conn, second["version"])
            day, last = data_span(conn)
            dates = snapshot_dates(day, last, settings)
            inputs = load_feature_inputs(conn, dates[0], dates[-1], payments_due_before=last)
        snaps = build_snapshots(inputs.daily, inputs.customers, inputs.accounts, inputs.payments, dates[-2:],
                                settings)
        assert a.feature_names == b.feature_names and a.threshold == b.threshold
        np.testing.assert_array_equal(b.predict_pd(snaps.X), a.predict_pd(snaps.X))
        np.testing.assert_array_equal(b.contributions(snaps.X[:50]), a.contributions(snaps.X[:50]))
    finally:
        engine.dispose()


def test_snapshots_do_not_depend_on_the_order_the_database_returns_rows_in(demo_settings):
    engine = create_engine(demo_settings.database_url)
    try:
        with engine.connect() as conn:
            day, last = data_span(conn)
            dates = snapshot_dates(day, last, demo_settings)[-3:]
            inputs = load_feature_inputs(conn, dates[0], dates[-1],
                                         payments_due_before=dates[-1] + timedelta(days=31))
    finally:
        engine.dispose()
    parts = (inputs.daily, inputs.customers, inputs.accounts, inputs.payments)
    runs = [build_snapshots(*(p.sample(fraction=1.0, shuffle=True, seed=seed) for p in parts), dates, demo_settings)
            for seed in range(3)]
    for s in runs[1:]:
        assert s.X.equals(runs[0].X)  # to the last bit: per-customer sums follow the rows' order
        np.testing.assert_array_equal(s.customer_id, runs[0].customer_id)
        np.testing.assert_array_equal(s.y, runs[0].y)
    key = np.rec.fromarrays([runs[0].as_of, runs[0].customer_id])
    assert (np.sort(key) == key).all()  # by date, then customer


@pytest.mark.parametrize("imbalance", ["class_weights", "smote"])
def test_a_search_with_the_same_trial_counts_gives_the_same_model(tmp_path, imbalance):
    # a generous time budget: the trial counts, not the clock, end the search
    settings = Settings(data_dir=tmp_path / "data",
                        training=Training(cv_folds=2, search_trials=2, search_seconds=600, imbalance=imbalance))
    X, y, _ = make_table(1000, seed=5)
    first, second = (train_table(X, y, None, settings) for _ in range(2))
    assert first.params["search_trials"] == dict.fromkeys(LEARNERS, 2)
    assert _without_timings(second.params) == _without_timings(first.params)
    assert second.metrics == first.metrics
    np.testing.assert_array_equal(second.model.predict_pd(X), first.model.predict_pd(X))
