"""Features straight from the database, for tests that check what the nightly and training compute."""

from __future__ import annotations

from datetime import date

import polars as pl
from sqlalchemy import Connection

from predelinquency.db.inputs import FeatureInputs, load_feature_inputs
from predelinquency.features.build import compute_features
from predelinquency.features.window import Panel, build_panel
from predelinquency.settings import Settings
from predelinquency.table import column


def panel_of(inputs: FeatureInputs) -> Panel:
    """The dense panel of every loaded customer over the inputs' days, customers without rows included."""
    return build_panel(inputs.daily, column(inputs.customers, "customer_id"), inputs.start, inputs.end)


def features_at(conn: Connection, as_of: date, customer_ids: list[int] | None, settings: Settings) -> pl.DataFrame:
    """Every registered feature at as_of for customer_ids (None: all customers), one row per customer."""
    inputs = load_feature_inputs(conn, as_of, as_of, customer_ids)
    return compute_features(panel_of(inputs), as_of, inputs.customers, inputs.accounts, inputs.payments,
                            grace_days=settings.simulation.grace_days)
