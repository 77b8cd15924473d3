"""A nightly run's fairness: its scored customers by sensitive attribute (model.fairness), labels not known yet."""

from __future__ import annotations

from datetime import date
from typing import Any

import polars as pl
from sqlalchemy import Connection, text

from predelinquency.db.bulk import copy_out
from predelinquency.model.fairness import FLAGGED_TIERS, customer_attributes, fairness_figures
from predelinquency.scoring.plan import CONTACT
from predelinquency.settings import Settings

_SCORED = """
SELECT rs.customer_id, rs.pd, rs.tier, cp.arm
FROM risk_scores rs
LEFT JOIN contact_plan cp ON cp.business_date = rs.as_of AND cp.customer_id = rs.customer_id
WHERE rs.as_of = %(d)s AND rs.model_version = %(v)s
ORDER BY rs.customer_id
"""


def run_frame(conn: Connection, settings: Settings, as_of: date, model_version: str) -> pl.DataFrame:
    """The run's rows as fairness_figures reads them: pd, flagged (the stored tier, policy rules included),
    in_plan (the contact arm of that day's plan; null when no plan was drawn that day), label null, attributes."""
    scored = copy_out(conn, _SCORED, {"d": as_of, "v": model_version},
                      schema={"customer_id": pl.Int64, "pd": pl.Float64, "tier": pl.String, "arm": pl.String})
    planned = conn.execute(text("SELECT EXISTS (SELECT 1 FROM contact_plan WHERE business_date = :d)"),
                           {"d": as_of}).scalar_one()
    in_plan = pl.col("arm").eq(CONTACT).fill_null(False) if planned else pl.lit(None, dtype=pl.Boolean)
    frame = scored.select("customer_id", "pd", pl.col("tier").is_in(FLAGGED_TIERS).alias("flagged"),
                          in_plan.alias("in_plan"), pl.lit(None, dtype=pl.Int8).alias("label"))
    return frame.join(customer_attributes(conn, settings.governance), on="customer_id", how="left",
                      maintain_order="left")


def run_fairness(conn: Connection, settings: Settings, as_of: date, model_version: str) -> dict[str, Any]:
    """fairness_figures of the nightly's rows at as_of for model_version (no labels yet: label-based figures null)."""
    return fairness_figures(run_frame(conn, settings, as_of, model_version), settings.governance,
                            f"nightly {as_of.isoformat()} ({model_version})")
