"""The portfolio's interventions: those made in the week, and the measured effect of contacts."""

from __future__ import annotations

from datetime import date
from typing import Any

import pandas as pd
from sqlalchemy import Connection

from predelinquency.report.portfolio.query import query_frame


def interventions_table(conn: Connection, start: date, end: date) -> pd.DataFrame:
    """Interventions made in the week per action: made, in the plan, results, status, settled and missed."""
    return query_frame(conn, """
        SELECT i.intervention_type AS "Action",
               count(*) FILTER (WHERE i.status <> 'cancelled') AS "Made",
               count(*) FILTER (WHERE i.status <> 'cancelled' AND EXISTS (
                   SELECT 1 FROM contact_plan p WHERE p.customer_id = i.customer_id
                   AND p.business_date = i.business_date AND p.arm = 'contact')) AS "In the plan",
               count(o.intervention_id) FILTER (WHERE i.status <> 'cancelled') AS "Results recorded",
               count(*) FILTER (WHERE i.status = 'completed') AS "Completed",
               count(*) FILTER (WHERE i.status IN ('open', 'in_progress')) AS "Open",
               count(*) FILTER (WHERE i.status = 'cancelled') AS "Cancelled",
               count(*) FILTER (WHERE i.status <> 'cancelled' AND i.settled_on IS NOT NULL) AS "Settled",
               count(*) FILTER (WHERE i.status <> 'cancelled' AND i.payment_outcome = 'missed') AS "Missed"
        FROM interventions i LEFT JOIN intervention_outcomes o ON o.intervention_id = i.intervention_id
        WHERE i.business_date BETWEEN :s AND :e
        GROUP BY 1 ORDER BY "Made" DESC, 1""", s=start, e=end)


def _effect_row(scope: str, action: str, r: dict[str, Any]) -> dict[str, Any]:
    return {"Scope": scope, "Action": action, "Contacted (settled)": r["contacted"],
            "Held out (settled)": r["holdout"], "Miss rate contacted": r["miss_rate_contacted"],
            "Miss rate held out": r["miss_rate_holdout"], "Uplift": r["uplift"], "Uplift 95% low": r["ci_low"],
            "Uplift 95% high": r["ci_high"], "Prevented defaults": r["prevented_defaults"],
            "Prevented loss": r["prevented_loss"], "Contact cost": r["contact_cost"], "ROI": r["roi"],
            "Enough data": "yes" if r["enough_data"] else "not enough data yet",
            "Outcomes still needed": r["outcomes_needed"], "True uplift (synthetic)": r.get("true_uplift")}


def effects_table(measured: dict[str, dict[str, Any]], start: date, end: date) -> pd.DataFrame:
    """Measured effect over all settled windows to the week's end (overall and per action), and of the units
    planned in the week."""
    to_date, week = f"settled to {end.isoformat()}", f"planned {start.isoformat()} to {end.isoformat()}"
    rows = [_effect_row(to_date, "all actions", measured["to_date"]["overall"])]
    rows += [_effect_row(to_date, r["action"], r) for r in measured["to_date"]["by_action"]]
    rows.append(_effect_row(week, "all actions", measured["week"]["overall"]))
    return pd.DataFrame(rows)
