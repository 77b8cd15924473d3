"""The portfolio's scorings: the two compared, customers per tier at each, the moves between tiers and the
largest PD rises."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import pandas as pd
from sqlalchemy import Connection, text

from predelinquency.domain.vocabulary import TIERS
from predelinquency.report.portfolio.columns import NOT_SCORED
from predelinquency.report.portfolio.query import query_frame

RISING_LIMIT = 25   # the rising-risk list a manager reads in a minute


@dataclass(frozen=True)
class Run:
    """One scoring: its date and the model that made it."""

    as_of: date
    model_version: str


def scoring_on_or_before(conn: Connection, day: date, prefer: str | None) -> Run | None:
    """The newest scoring on or before `day`: `prefer`'s (the champion) when it scored that date, else the
    newest-made run of that date."""
    as_of = conn.execute(text("SELECT max(as_of) FROM risk_scores WHERE as_of <= :d"), {"d": day}).scalar()
    if as_of is None:
        return None
    models = conn.execute(text("SELECT model_version FROM risk_scores WHERE as_of = :d GROUP BY model_version "
                               "ORDER BY max(created_at) DESC"), {"d": as_of}).scalars().all()
    return Run(as_of, prefer if prefer in models else models[0])


def tiers_table(conn: Connection, start: Run | None, end: Run | None) -> pd.DataFrame:
    """Customers, average PD and expected loss per tier at the two scorings, riskiest tier first."""
    def per_tier(run: Run | None) -> pd.DataFrame:
        if run is None:
            return pd.DataFrame(columns=["tier", "customers", "avg_pd", "expected_loss"])
        return query_frame(conn, """SELECT tier, count(*) AS customers, avg(pd) AS avg_pd,
                                     sum(expected_loss) AS expected_loss
                              FROM risk_scores WHERE as_of = :d AND model_version = :v GROUP BY tier""",
                     d=run.as_of, v=run.model_version).set_index("tier")
    s, e = per_tier(start), per_tier(end)
    out = []
    for tier in reversed(TIERS):
        def get(frame: pd.DataFrame, col: str, tier: str = tier) -> Any:
            return frame.at[tier, col] if tier in frame.index else (0 if col == "customers" else None)
        out.append({"Tier": tier,
                    "Customers at start": int(get(s, "customers")) if start else None,
                    "Customers at end": int(get(e, "customers")) if end else None,
                    "Change": int(get(e, "customers")) - int(get(s, "customers")) if start and end else None,
                    "Average PD at start": get(s, "avg_pd"), "Average PD at end": get(e, "avg_pd"),
                    "Expected loss at start": get(s, "expected_loss"),
                    "Expected loss at end": get(e, "expected_loss")})
    return pd.DataFrame(out).astype({"Customers at start": "Int64", "Customers at end": "Int64", "Change": "Int64"})


def movement_table(conn: Connection, start: Run | None, end: Run | None) -> pd.DataFrame:
    """Customers per (tier before the week, tier at its end), newly scored and no longer scored included."""
    cols = ["From tier", "To tier", "Customers"]
    if start is None or end is None:
        return pd.DataFrame(columns=cols)
    df = query_frame(conn, f"""
        SELECT coalesce(s.tier, '{NOT_SCORED}') AS "From tier", coalesce(e.tier, '{NOT_SCORED}') AS "To tier",
               count(*) AS "Customers"
        FROM (SELECT customer_id, tier FROM risk_scores WHERE as_of = :sd AND model_version = :sv) s
        FULL JOIN (SELECT customer_id, tier FROM risk_scores WHERE as_of = :ed AND model_version = :ev) e
            USING (customer_id)
        GROUP BY 1, 2""", sd=start.as_of, sv=start.model_version, ed=end.as_of, ev=end.model_version)
    order = {t: i for i, t in enumerate((NOT_SCORED, *TIERS))}
    df = df.assign(_f=df["From tier"].map(order), _t=df["To tier"].map(order))
    return df.sort_values(["_f", "_t"], ascending=False).drop(columns=["_f", "_t"]).reset_index(drop=True)


def rising_table(conn: Connection, start: Run | None, end: Run | None, limit: int) -> pd.DataFrame:
    """The customers whose PD rose most over the week."""
    cols = ["Customer", "Name", "Segment", "Tier at start", "Tier at end", "PD at start", "PD at end", "PD rise",
            "Top reason"]
    if start is None or end is None:
        return pd.DataFrame(columns=cols)
    return query_frame(conn, """
        SELECT e.customer_id AS "Customer", c.full_name AS "Name", c.segment AS "Segment",
               s.tier AS "Tier at start", e.tier AS "Tier at end", s.pd AS "PD at start", e.pd AS "PD at end",
               e.pd - s.pd AS "PD rise", e.reasons -> 0 ->> 'text' AS "Top reason"
        FROM risk_scores e
        JOIN risk_scores s ON s.as_of = :sd AND s.model_version = :sv AND s.customer_id = e.customer_id
        JOIN customers c ON c.customer_id = e.customer_id
        WHERE e.as_of = :ed AND e.model_version = :ev AND e.pd > s.pd
        ORDER BY e.pd - s.pd DESC, e.customer_id LIMIT :n""",
                 sd=start.as_of, sv=start.model_version, ed=end.as_of, ev=end.model_version, n=limit)
