"""true_pd: the generator's own probability, at each as_of day, that an instalment due in
(as_of, as_of + 30 days] is missed. Never a feature; the ceiling a model can reach on this data."""

from __future__ import annotations

import numpy as np

from predelinquency.simulate.customers import Customers
from predelinquency.simulate.payments import WINDOW
from predelinquency.simulate.stress import StressPaths, expected_miss_prob
from predelinquency.simulate.timeline import Timeline


def true_pd(c: Customers, paths: StressPaths, tl: Timeline, intercept: float) -> np.ndarray:
    """(n, days) probability of a missed instalment in the 30 days after each day, given the state that day."""
    days = tl.days
    t = np.arange(days)
    month = tl.month_of[:days]
    log_surv = np.zeros(c.n * days)
    for has, due_day in ((c.has_card, c.card_due_day), (c.has_loan, c.loan_due_day)):
        holders = np.flatnonzero(has)
        due = tl.due_days(due_day[holders])
        this = due[:, month]
        after = this > t[None, :]
        # the next two due dates after as_of; a 30-day window holds one, sometimes two
        first = np.where(after, this, due[:, month + 1])
        second = np.where(after, due[:, month + 1], due[:, month + 2])
        for nxt in (first, second):
            k = nxt - t[None, :]
            r, d = np.nonzero(k <= WINDOW)
            rows = holders[r]
            p = expected_miss_prob(paths, c.base_risk, intercept, rows, d, k[r, d])
            log_surv += np.bincount(rows * days + d, weights=np.log1p(-np.minimum(p, 1 - 1e-12)),
                                    minlength=c.n * days)
    return -np.expm1(log_surv).reshape(c.n, days)
