"""One chunk of customers simulated end to end in memory: customers, stress, every transaction,
instalment outcomes, daily rows and true_pd. Chunks are independent given the seed and the intercept."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from predelinquency.settings import Simulation
from predelinquency.simulate.customers import Customers, make_customers
from predelinquency.simulate.daily import daily_arrays
from predelinquency.simulate.events import Events
from predelinquency.simulate.income import income_events
from predelinquency.simulate.labels import true_pd
from predelinquency.simulate.ledger import Ledger, run_ledger
from predelinquency.simulate.payments import (
    Schedule,
    Settlement,
    calibrate_intercept,
    instalment_events,
    instalment_schedule,
    settle,
)
from predelinquency.simulate.spending import cash_and_gambling, everyday_spending, lending_app, monthly_outgoings
from predelinquency.simulate.stress import StressPaths, simulate_stress
from predelinquency.simulate.timeline import Timeline

PILOT_CUSTOMERS = 5000


def chunk_rng(seed: int, index: int) -> np.random.Generator:
    """The random stream of chunk `index` (0, 1, ...); index -1 is the calibration pilot."""
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(index + 1,)))


@dataclass
class Chunk:
    """Everything simulated for one chunk; money in integer cents."""

    customers: Customers
    paths: StressPaths
    schedule: Schedule
    settlement: Settlement
    events: Events              # sorted by customer, day, time
    ledger: Ledger
    daily: dict[str, np.ndarray]
    true_pd: np.ndarray         # (n, days)
    carry: Events               # money movements already scheduled past the last day (day >= days)
    others_rate: np.ndarray     # per customer: transactions a day other than everyday spending, last 30 days


def calibrate(seed: int, tl: Timeline, sim: Simulation) -> float:
    """Miss-odds intercept that gives sim.target_miss_rate on a pilot population drawn from the seed."""
    rng = chunk_rng(seed, -1)
    c = make_customers(rng, 1, PILOT_CUSTOMERS, sim.txn_per_month_min, sim.txn_per_month_max)
    paths = simulate_stress(rng, c.base_risk, tl.days)
    return calibrate_intercept(instalment_schedule(c, tl), paths.level, c.base_risk, sim.target_miss_rate)


def _per_month(ev: Events, n: int, tl: Timeline) -> np.ndarray:
    key = ev.cust.astype(np.int64) * tl.n_months + tl.month_of[ev.day]
    return np.bincount(key, minlength=n * tl.n_months).reshape(n, tl.n_months)


def _matrix_per_month(m: np.ndarray, tl: Timeline) -> np.ndarray:
    """Non-zero cells of an (n, days) matrix counted per calendar month."""
    n = m.shape[0]
    rows, day = np.nonzero(m)
    return np.bincount(rows * tl.n_months + tl.month_of[day], minlength=n * tl.n_months).reshape(n, tl.n_months)


def recent_others(fixed: list[Events], bills: np.ndarray, repayments: np.ndarray, n: int, days: int,
                  span: int = 30) -> np.ndarray:
    """Per customer: transactions a day over the last `span` days other than everyday spending (what the
    spending tops up to the customer's activity level)."""
    lo = max(days - span, 0)
    count = sum(np.bincount(e.cust[e.day >= lo], minlength=n) for e in fixed)
    count = count + (bills[:, lo:] > 0).sum(axis=1) + (repayments[:, lo:] > 0).sum(axis=1)
    return count / (days - lo)


def simulate_chunk(seed: int, index: int, first_id: int, n: int, tl: Timeline, intercept: float,
                   sim: Simulation) -> Chunk:
    """Chunk `index` of n customers with ids first_id.., simulated over the timeline."""
    rng = chunk_rng(seed, index)
    c = make_customers(rng, first_id, n, sim.txn_per_month_min, sim.txn_per_month_max)
    paths = simulate_stress(rng, c.base_risk, tl.days)
    level = paths.level
    sched = instalment_schedule(c, tl)
    st = settle(rng, sched, level, c.base_risk, intercept, sim.grace_days)
    carry: list[Events] = []
    credits, repayments = lending_app(rng, paths, tl.days, carry)
    outgoings, bills = monthly_outgoings(rng, c, tl)
    fixed = [instalment_events(rng, sched, st, tl.days, carry), income_events(rng, c, paths, tl, carry),
             cash_and_gambling(rng, c, paths, tl), credits, outgoings]
    others = (sum(_per_month(e, n, tl) for e in fixed) + _matrix_per_month(bills, tl)
              + _matrix_per_month(repayments, tl))
    others_rate = recent_others(fixed, bills, repayments, n, tl.days)
    fixed.append(everyday_spending(rng, c, paths, tl, others, sim.txn_per_month_min))
    fixed_ev = Events.concat(fixed)
    ledger = run_ledger(rng, c, level, tl, fixed_ev, bills, repayments, carry)
    ev = Events.concat([fixed_ev, ledger.events])
    ev = ev.where(np.argsort((ev.cust.astype(np.int64) * tl.days + ev.day) * 86400 + ev.sec, kind="stable"))
    daily = daily_arrays(ev, n, tl.days, c.current_open, c.savings_open)
    return Chunk(c, paths, sched, st, ev, ledger, daily, true_pd(c, paths, tl, intercept), Events.concat(carry),
                 others_rate)
