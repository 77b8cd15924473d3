"""Money in: salaries and pensions on pay day (delayed or cut under stress), self-employed and benefit
credits, and occasional transfers from friends, family and refunds."""

from __future__ import annotations

import numpy as np

from predelinquency.simulate.customers import CONTRACT, SALARIED, SELF_EMPLOYED, UNEMPLOYED, Customers
from predelinquency.simulate.events import CAT, CH, Events, make_events, seconds
from predelinquency.simulate.stress import StressPaths
from predelinquency.simulate.timeline import Timeline


def spread_in_months(rng: np.random.Generator, tl: Timeline, counts: np.ndarray,
                     weights: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(customer, day) of counts[i, m] events placed in calendar month m, with optional day weights (n, days)."""
    n, months = counts.shape
    days = tl.days
    cust = np.repeat(np.repeat(np.arange(n), months), counts.ravel())
    month = np.repeat(np.tile(np.arange(months), n), counts.ravel())
    lo = np.clip(tl.month_first[month], 0, days)
    hi = np.clip(tl.month_first[month + 1], 0, days)
    day = lo + np.minimum((rng.random(len(cust)) * (hi - lo)).astype(np.int64), hi - lo - 1)
    if weights is not None:
        # rejection sampling: redraw a day with probability 1 - w/w_max until accepted (a few rounds)
        w_max = float(weights.max())
        todo = np.arange(len(cust))
        while len(todo):
            reject = rng.random(len(todo)) * w_max >= weights[cust[todo], day[todo]]
            todo = todo[reject]
            span = hi[todo] - lo[todo]
            day[todo] = lo[todo] + np.minimum((rng.random(len(todo)) * span).astype(np.int64), span - 1)
    return cust, day


def income_events(rng: np.random.Generator, c: Customers, p: StressPaths, tl: Timeline,
                  carry: list[Events] | None = None) -> Events:
    """Salary, pension, benefit and self-employed credits plus occasional incoming transfers; pay delayed
    past the last day goes to `carry` (its time of day is drawn on the day it arrives)."""
    days = tl.days
    level = p.level
    parts = []
    regular = np.flatnonzero(c.pay_day > 0)
    pay = tl.due_days(c.pay_day[regular])
    r, col = np.nonzero((pay >= 0) & (pay < days))
    rows, due = regular[r], pay[r, col]
    emp = c.employment[rows]
    lvl = level[rows, due]
    # pensions and benefits arrive on time; employers pay late when the customer's situation is
    # deteriorating (disputes, reduced hours)
    p_delay = np.where(np.isin(emp, (SALARIED, CONTRACT)), 1 / (1 + np.exp(4.2 - 1.3 * lvl)), 0.01)
    delay = np.where(rng.random(len(rows)) < p_delay, np.minimum(rng.geometric(0.3, len(rows)), 10), 0)
    mult = p.income_mult[rows, due]
    noise = np.where(emp == CONTRACT, rng.normal(1, 0.08, len(rows)),
                     np.where(emp == SALARIED, rng.normal(1, 0.02, len(rows)), 1.0))
    amount = np.round(c.income[rows] * mult * noise)
    gap = (emp == CONTRACT) & (rng.random(len(rows)) < 0.04)
    paid = (mult > 0.1) & ~gap & (amount > 0)
    keep = paid & (due + delay < days)
    if carry is not None:
        late = paid & ~keep
        carry.append(make_events(rows[late], (due + delay)[late], np.zeros(int(late.sum())), amount[late],
                                 np.where(emp[late] == UNEMPLOYED, CAT["transfer_in"], CAT["salary"]), CH["transfer"]))
    rows, day, amount, emp = rows[keep], (due + delay)[keep], amount[keep], emp[keep]
    cat = np.where(emp == UNEMPLOYED, CAT["transfer_in"], CAT["salary"])
    parts.append(make_events(rows, day, seconds(rng, len(rows), 0.5, 3), amount, cat, CH["transfer"]))

    # self-employed: irregular invoices paid at random days, lumpier and also hit by stress
    self_emp = np.flatnonzero(c.employment == SELF_EMPLOYED)
    frac = tl.month_days() / 30.4
    counts = rng.poisson(2.5 * frac[None, :], (len(self_emp), tl.n_months))
    cust, day = spread_in_months(rng, tl, counts)
    rows = self_emp[cust]
    amount = np.round(c.income[rows] / 2.5 * p.income_mult[rows, day] * rng.lognormal(-0.12, 0.5, len(rows)))
    keep = amount > 100
    parts.append(make_events(rows[keep], day[keep], seconds(rng, int(keep.sum()), 8, 20), amount[keep],
                             CAT["transfer_in"], CH["transfer"]))

    # gifts, refunds, transfers between own accounts at other banks
    counts = rng.poisson(0.8 * frac[None, :], (c.n, tl.n_months))
    cust, day = spread_in_months(rng, tl, counts)
    amount = np.round(rng.lognormal(np.log(6000), 0.9, len(cust)))
    parts.append(make_events(cust, day, seconds(rng, len(cust), 8, 22), amount, CAT["transfer_in"], CH["transfer"]))
    return Events.concat(parts)
