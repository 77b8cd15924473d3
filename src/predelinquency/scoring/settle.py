"""Outcomes settled from the data: how the customer's next instalment after a contact (or a holdout draw)
ended. Run by the nightly once the data cover the outcome window, in its transaction, audited as the system.

A unit that started on business date d (an intervention made on d, or a contact-plan row of d) looks at the
customer's first instalment due in (d, d + outcome_window_days] (a card and a loan due that same day count as
one, the worse of the two). It is settled as that payment's status once
the data reach its due date plus the grace period (a late payment can still arrive until then): paid (on
time), late (within grace), missed; or as no_instalment once the data reach d + outcome_window_days with no
instalment due in the window. An officer's contact result never settles anything.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import Connection, text

from predelinquency.db.audit import write_audit

SYSTEM_ACTOR = "system:nightly"

# :last is the latest data day, :window the outcome window, :grace the grace period; {unit} is a constant
_SETTLE = """
WITH due AS (
    SELECT u.{key}, nxt.due_date, nxt.pay_status
    FROM {table} u
    LEFT JOIN LATERAL (
        -- the first due date in the window; a card and a loan due that day are one outcome, the worse one
        SELECT p.due_date,
               CASE WHEN bool_or(p.status = 'pending') THEN 'pending'
                    WHEN bool_or(p.status = 'missed') THEN 'missed'
                    WHEN bool_or(p.status = 'late') THEN 'late' ELSE 'paid' END AS pay_status
        FROM payments p
        WHERE p.customer_id = u.customer_id AND p.due_date = (
            SELECT min(q.due_date) FROM payments q WHERE q.customer_id = u.customer_id
              AND q.due_date > u.business_date AND q.due_date <= u.business_date + CAST(:window AS integer))
        GROUP BY p.due_date) nxt ON true
    WHERE u.settled_on IS NULL {extra}
), final AS (
    SELECT {key_cols}, d.due_date,
           CASE WHEN d.due_date IS NULL THEN 'no_instalment' ELSE d.pay_status END AS outcome
    FROM due d JOIN {table} u USING ({key})
    WHERE (d.due_date IS NULL AND u.business_date + CAST(:window AS integer) <= CAST(:last AS date))
       OR (d.due_date IS NOT NULL AND d.pay_status IN ('paid', 'late', 'missed')
           AND d.due_date + CAST(:grace AS integer) <= CAST(:last AS date))
)
UPDATE {table} t SET outcome_due_date = f.due_date, payment_outcome = f.outcome, settled_on = :today
FROM final f WHERE {join}
RETURNING {returning}, t.payment_outcome
"""


def _statement(table: str, key: list[str], extra: str = "") -> str:
    # a composite key is carried through the CTEs as a row value
    if len(key) == 1:
        key_sql, key_cols, join, returning = key[0], f"d.{key[0]}", f"t.{key[0]} = f.{key[0]}", f"t.{key[0]}"
    else:
        key_sql = ", ".join(key)
        key_cols = ", ".join(f"d.{k}" for k in key)
        join = " AND ".join(f"t.{k} = f.{k}" for k in key)
        returning = ", ".join(f"t.{k}" for k in key)
    return _SETTLE.format(table=table, key=key_sql, key_cols=key_cols, join=join, returning=returning, extra=extra)


_INTERVENTIONS = _statement("interventions", ["intervention_id"], "AND u.status <> 'cancelled'")
_PLAN = _statement("contact_plan", ["business_date", "customer_id"])


def settle_outcomes(conn: Connection, last_day: date, today: date, window_days: int, grace_days: int) -> dict:
    """Settles every intervention and contact-plan row whose outcome the data now decide; returns the counts
    by outcome. Writes one audit row naming what was settled (nothing when nothing was)."""
    params = {"last": last_day, "today": today, "window": window_days, "grace": grace_days}
    interventions = conn.execute(text(_INTERVENTIONS), params).all()
    plan = conn.execute(text(_PLAN), params).all()
    summary = {"interventions": _counts(r[-1] for r in interventions),
               "plan": _counts(r[-1] for r in plan)}
    if interventions or plan:
        write_audit(conn, SYSTEM_ACTOR, "settle_outcomes", "business_date", today, None, summary,
                    {"intervention_ids": sorted(int(r[0]) for r in interventions), "plan_rows": len(plan),
                     "latest_data_day": last_day.isoformat(), "window_days": window_days,
                     "grace_days": grace_days})
    return summary


def _counts(outcomes) -> dict[str, int]:
    out: dict[str, int] = {}
    for o in outcomes:
        out[o] = out.get(o, 0) + 1
    return out
