"""`pde advance --days N`: the synthetic bank goes on, one business day at a time, in one transaction.

Each day: (with --work-plan) the simulated team works today's plan as officers would, through `operations`,
as the user `simulated-team`; the generator simulates the day, letting the interventions on record act on the
customers through its hidden effects (simulate/effects.py), and records the potential outcomes of everyone the
plan looked at; the team records each contact's result; then the nightly scores the next business date,
settles the outcomes whose window has closed and draws the next plan. A failure anywhere leaves the bank as
it was. A bank that `pde generate` did not make is refused: a real bank's data moves by ingest.
"""

from __future__ import annotations

import logging
import secrets
import time
from typing import Any

import numpy as np
from sqlalchemy import Connection, Engine, text

from predelinquency.db.calendar import business_date
from predelinquency.db.runs import Progress, RunRecorder, no_progress, recorded_run
from predelinquency.domain.vocabulary import INTERVENTION_TYPES
from predelinquency.errors import Conflict, NotFound, PdeError
from predelinquency.operations.accounts import User, get_user
from predelinquency.operations.interventions import create_intervention
from predelinquency.operations.outcomes import record_outcome
from predelinquency.operations.users import create_user
from predelinquency.scoring.nightly import nightly_in
from predelinquency.scoring.stored import settings_digest
from predelinquency.settings import Settings
from predelinquency.simulate.advance import Contacts, advance_day, require_simulated_bank

log = logging.getLogger(__name__)

TEAM_USERNAME = "simulated-team"
NIGHTLY_CHOICES = ("every", "last", "none")
MAX_DAYS = 366


def validate(days: int, nightly: str, work_plan: bool) -> None:
    """Raises PdeError naming the first invalid argument."""
    if not 1 <= days <= MAX_DAYS:
        raise PdeError(f"--days must be between 1 and {MAX_DAYS}, got {days}")
    if nightly not in NIGHTLY_CHOICES:
        raise PdeError(f"--nightly must be one of {', '.join(NIGHTLY_CHOICES)}, got {nightly!r}")
    if work_plan and nightly != "every":
        raise PdeError("--work-plan needs --nightly every: each day's plan is drawn by the nightly before it")


def simulated_team(conn: Connection) -> User:
    """The officer account the simulated team acts as (made on first use, audited as the system)."""
    try:
        return get_user(conn, TEAM_USERNAME)
    except NotFound:
        # nobody logs in as the team: its password is random and never shown
        return create_user(conn, TEAM_USERNAME, secrets.token_urlsafe(24) + "aA1!", "officer",
                           "system:advance", full_name="Simulated collections team")


def contacts_on(conn: Connection, day: Any) -> Contacts:
    """The interventions on record made on business date `day` (not cancelled): they act on the bank."""
    rows = conn.execute(text("SELECT customer_id, intervention_type FROM interventions "
                             "WHERE business_date = :d AND status <> 'cancelled' ORDER BY intervention_id"),
                        {"d": day}).all()
    index = {a: i for i, a in enumerate(INTERVENTION_TYPES)}
    return Contacts(np.array([r[0] for r in rows], np.int64), np.array([index[r[1]] for r in rows], np.int8))


def eligible_on(conn: Connection, day: Any) -> np.ndarray:
    """Customers eligible for contact on `day`: the plan's whole population (both arms) and anyone contacted."""
    ids = conn.execute(text("SELECT customer_id FROM contact_plan WHERE business_date = :d UNION "
                            "SELECT customer_id FROM interventions WHERE business_date = :d AND status <> 'cancelled'"),
                       {"d": day}).scalars().all()
    return np.array(sorted(ids), np.int64)


def work_todays_plan(conn: Connection, team: User, settings: Settings, day: Any) -> dict[int, int]:
    """Creates the recommended intervention for every customer the plan contacts today; {customer: intervention}.

    A customer someone already contacted since the plan was drawn is skipped, as an officer would.
    """
    planned = conn.execute(text("SELECT customer_id, recommended_action, channel FROM contact_plan "
                                "WHERE business_date = :d AND arm = 'contact' ORDER BY rank"), {"d": day}).all()
    made: dict[int, int] = {}
    for customer_id, action, planned_channel in planned:
        try:
            # the team reaches the customer through the plan's channel (the one its capacity was counted on); a
            # plan drawn before plans named channels: the action's first allowed one
            channel = planned_channel or settings.operations.action_channels[action][0]
            row = create_intervention(conn, team, customer_id, action, channel, settings,
                                      notes="worked from today's plan by the simulated team")
        except Conflict:
            continue
        made[customer_id] = row["intervention_id"]
    return made


def _record_results(conn: Connection, team: User, made: dict[int, int], responded: dict[int, bool]) -> int:
    """The team's contact results: reached when the customer engaged, else no answer."""
    for customer_id, intervention_id in made.items():
        record_outcome(conn, team, intervention_id, "reached" if responded.get(customer_id) else "no_answer")
    return len(made)


def advance_bank(engine: Engine, settings: Settings, days: int, nightly: str = "last", work_plan: bool = False,
                 actor: str = "cli", progress: Progress = no_progress) -> dict[str, Any]:
    """Summary of the days added: dates, rows per table, contacts, potential outcomes, nightly runs, seconds."""
    validate(days, nightly, work_plan)
    with engine.connect() as conn:
        require_simulated_bank(conn)
        has_champion = conn.execute(text("SELECT EXISTS (SELECT 1 FROM model_versions WHERE status = 'champion')"))
        if nightly != "none" and not has_champion.scalar_one():
            raise PdeError("there is no champion model to score the advanced days: run `pde train` first, "
                           "or advance with --nightly none")
    params = {"days": days, "nightly": nightly, "work_plan": work_plan,
              "settings_digest": settings_digest(settings)}  # the nightly's rows are served like its own runs
    started = time.perf_counter()
    with recorded_run(engine, "advance", actor, params) as rec, engine.begin() as conn:
        out = _advance(conn, rec, settings, days, nightly, work_plan, progress)
        out["seconds"] = round(time.perf_counter() - started, 2)
        rec.metrics.update(out)
    out["run_id"] = rec.run_id
    return out


def _advance(conn: Connection, rec: RunRecorder, settings: Settings, days: int, nightly: str, work_plan: bool,
             progress: Progress) -> dict[str, Any]:
    team = simulated_team(conn) if work_plan else None
    first = business_date(conn)
    rows: dict[str, int] = {}
    totals = {"contacts": 0, "worked_by_team": 0, "potential_outcomes": 0, "nightly_runs": 0}
    sim_seconds = nightly_seconds = 0.0
    for i in range(days):
        day = business_date(conn)
        made: dict[int, int] = {}
        if team is not None:
            if not conn.execute(text("SELECT EXISTS (SELECT 1 FROM risk_scores WHERE as_of = :d)"),
                                {"d": day}).scalar_one():
                with rec.sub_range(i / days, i / days):  # the first day's plan, when no nightly has scored it yet
                    nightly_in(conn, rec, settings, refresh_statistics=True)
                totals["nightly_runs"] += 1
            made = work_todays_plan(conn, team, settings, day)
        t0 = time.perf_counter()
        result = advance_day(conn, settings, contacts_on(conn, day), eligible_on(conn, day))
        sim_seconds += time.perf_counter() - t0
        for table, n in result.rows.items():
            rows[table] = rows.get(table, 0) + n
        totals["contacts"] += len(result.responded)
        totals["potential_outcomes"] += result.outcomes
        if team is not None:
            totals["worked_by_team"] += _record_results(conn, team, made, result.responded)
        if nightly == "every" or (nightly == "last" and i == days - 1):
            t0 = time.perf_counter()
            # the nightly reports its own 0..1: within this day's share of the advance, so the bar never goes back
            with rec.sub_range((i + 0.5) / days, (i + 1) / days):
                nightly_in(conn, rec, settings, refresh_statistics=True)  # rows autovacuum cannot see yet
            nightly_seconds += time.perf_counter() - t0
            totals["nightly_runs"] += 1
        message = f"simulated {day} ({i + 1} of {days} days)"
        rec.progress((i + 1) / days, message)
        progress((i + 1) / days, message)
        log.info(message)
    return {"first_day": first.isoformat(), "last_day": day.isoformat(),
            "business_date": business_date(conn).isoformat(), "days": days, "rows": rows, **totals,
            "simulate_seconds": round(sim_seconds, 2), "nightly_seconds": round(nightly_seconds, 2)}
