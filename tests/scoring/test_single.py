"""Scoring one customer on demand: the one-statement read gives what the batch read and the nightly give."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from predelinquency.errors import NotFound, PdeError
from predelinquency.model.registry import load_model
from predelinquency.scoring.single import score_customer, score_customers
from predelinquency.settings import Settings

pytestmark = pytest.mark.slow


def test_one_customer_is_scored_as_in_a_batch(conn, demo_settings: Settings, demo_bank):
    """One customer without as_of takes the one-statement read; a batch the latest-day lookup and a pipeline."""
    model = load_model(demo_settings, conn)
    ids = conn.execute(text("SELECT customer_id FROM risk_scores WHERE as_of = :d ORDER BY pd DESC LIMIT 3"),
                       {"d": demo_bank.as_of}).scalars().all()
    batch = score_customers(conn, demo_settings, ids, model=model, reuse_stored=False)
    for cid, in_batch in zip(ids, batch, strict=True):
        alone = score_customer(conn, demo_settings, cid, model=model, reuse_stored=False)
        assert alone == in_batch
        assert alone["as_of"] == demo_bank.as_of and alone["source"] == "computed"
        assert alone["prev_pd"] is not None  # the previous nightly run, found through the same statement


def test_a_customer_without_banking_data_or_unknown_is_a_clear_error(conn, demo_settings: Settings):
    model = load_model(demo_settings, conn)
    conn.execute(text("INSERT INTO customers (customer_id, full_name, age, employment_type, segment, region, "
                      "monthly_income, salary_day, tenure_months) "
                      "VALUES (900001, 'New', 30, 'salaried', 'mass', 'north', 2500, 1, 0)"))
    with pytest.raises(PdeError, match="no banking data"):
        score_customer(conn, demo_settings, 900001, model=model)
    with pytest.raises(NotFound, match="unknown customer: 900002"):
        score_customer(conn, demo_settings, 900002, model=model)
    with pytest.raises(NotFound, match="unknown customer: 900002"):
        score_customer(conn, demo_settings, 900002, model=model, reuse_stored=False)
