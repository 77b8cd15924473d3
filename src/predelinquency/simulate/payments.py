"""Instalments: the monthly due schedule of cards and loans, calibration of the miss rate, and outcomes
(paid / late / missed / pending) with the direct debits and repayments they leave in transactions."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from predelinquency.simulate.customers import CARD, LOAN, Customers
from predelinquency.simulate.events import CAT, CH, Events, make_events, seconds
from predelinquency.simulate.stress import MISS_BETA
from predelinquency.simulate.timeline import Timeline

PAID, LATE, MISSED, PENDING = range(4)
STATUSES = ("paid", "late", "missed", "pending")
LATE_SHIFT = 1.0        # being late is ~e times as likely as missing outright
WINDOW = 30             # label window: a payment due in (as_of, as_of + 30 days]
RETRY_DAYS = 3          # a bounced instalment debit is presented once more


@dataclass
class Schedule:
    """Every instalment due from day 0 to the first due date after the data end, one row each."""

    cust: np.ndarray        # local customer index
    due: np.ndarray         # day index of the due date
    amount: np.ndarray      # cents
    product: np.ndarray     # CARD or LOAN

    def in_data(self, days: int) -> np.ndarray:
        return self.due < days


def instalment_schedule(c: Customers, tl: Timeline) -> Schedule:
    """Due dates of each customer's card and loan in every month up to one due date past the end."""
    parts = []
    for product, has, due_day, amount in ((CARD, c.has_card, c.card_due_day, c.card_instalment),
                                          (LOAN, c.has_loan, c.loan_due_day, c.loan_instalment)):
        rows = np.flatnonzero(has)
        due = tl.due_days(due_day[rows])
        # keep due dates within the data, plus the first one after it (pending)
        first_after = np.where(due >= tl.days, due, np.iinfo(np.int64).max).min(axis=1, keepdims=True)
        keep = (due >= 0) & (due <= first_after)
        r, col = np.nonzero(keep)
        parts.append((rows[r], due[r, col], amount[rows[r]], np.full(len(r), product, np.int8)))
    cust, due, amount, product = (np.concatenate(x) for x in zip(*parts, strict=True))
    order = np.lexsort((product, due, cust))
    return Schedule(cust[order].astype(np.int32), due[order].astype(np.int32), amount[order], product[order])


def _due_log_survival(sched: Schedule, level: np.ndarray, base_risk: np.ndarray, intercept: float,
                      n: int, days: int) -> np.ndarray:
    """Per (customer, day): log P(no miss) of instalments due that day."""
    inside = sched.in_data(days)
    cust, due = sched.cust[inside], sched.due[inside]
    logit = intercept + MISS_BETA * level[cust, due] + base_risk[cust]
    log_surv = -np.logaddexp(0, logit)  # log(1 - sigmoid(logit))
    return np.bincount(cust.astype(np.int64) * days + due, weights=log_surv, minlength=n * days).reshape(n, days)


def window_miss_rate(log_surv: np.ndarray) -> float:
    """Mean over customers and as_of days (with a full window in the data) of P(a miss in the window)."""
    days = log_surv.shape[1]
    if days <= WINDOW:
        return float("nan")
    cum = np.concatenate([np.zeros((log_surv.shape[0], 1)), np.cumsum(log_surv, axis=1)], axis=1)
    # window of as_of t covers days t+1..t+30: cum[t+31] - cum[t+1]
    s = cum[:, WINDOW + 1:] - cum[:, 1:days - WINDOW + 1]
    return float(np.mean(-np.expm1(s)))


def calibrate_intercept(sched: Schedule, level: np.ndarray, base_risk: np.ndarray, target: float) -> float:
    """Intercept of the miss log-odds giving the target share of customer 30-day windows with a miss."""
    n, days = level.shape
    lo, hi = -20.0, 5.0
    for _ in range(40):  # bisection: the rate rises monotonically with the intercept
        mid = (lo + hi) / 2
        if window_miss_rate(_due_log_survival(sched, level, base_risk, mid, n, days)) < target:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2


@dataclass
class Settlement:
    """How each scheduled instalment ended: status, the day it was paid (-1 if not) and days late."""

    status: np.ndarray
    paid_day: np.ndarray
    days_late: np.ndarray


def settle(rng: np.random.Generator, sched: Schedule, level: np.ndarray, base_risk: np.ndarray,
           intercept: float, grace_days: int) -> Settlement:
    """Outcomes drawn from the stress at each due date; instalments due after the data are pending."""
    days = level.shape[1]
    m = len(sched.cust)
    inside = sched.in_data(days)
    lvl = np.zeros(m)
    lvl[inside] = level[sched.cust[inside], sched.due[inside]]
    logit = intercept + MISS_BETA * lvl + base_risk[sched.cust]
    p_miss = 1 / (1 + np.exp(-logit))
    p_late = 1 / (1 + np.exp(-(logit + LATE_SHIFT))) if grace_days > 0 else np.zeros(m)
    u = rng.random(m)
    status = np.where(u < p_miss, MISSED, np.where(u < p_miss + (1 - p_miss) * p_late, LATE, PAID))
    status = np.where(inside, status, PENDING).astype(np.int8)
    late_by = np.minimum(rng.geometric(0.45, m), max(grace_days, 1)).astype(np.int32)
    days_late = np.where(status == LATE, late_by, np.where(status == PAID, 0, -1)).astype(np.int32)
    paid_day = np.where(status == PAID, sched.due, np.where(status == LATE, sched.due + late_by, -1))
    return Settlement(status, paid_day.astype(np.int32), days_late)


def instalment_events(rng: np.random.Generator, sched: Schedule, st: Settlement, days: int,
                      carry: list[Events] | None = None) -> Events:
    """The debits instalments leave: posted on time, bounced then paid late, or bounced twice (missed);
    late repayments and second presentations falling past the last day go to `carry`."""
    cat = np.where(sched.product == CARD, CAT["card_repayment"], CAT["loan_instalment"]).astype(np.int8)
    due_in = st.status != PENDING
    bounced = due_in & (st.status != PAID)
    first = make_events(sched.cust[due_in], sched.due[due_in], seconds(rng, int(due_in.sum()), 4, 6),
                        -sched.amount[due_in], cat[due_in], CH["direct_debit"], bounced[due_in])
    late = (st.status == LATE) & (st.paid_day < days)
    repay = make_events(sched.cust[late], st.paid_day[late], seconds(rng, int(late.sum()), 8, 21),
                        -sched.amount[late], cat[late], CH["online"])
    retry = (st.status == MISSED) & (sched.due + RETRY_DAYS < days)
    if carry is not None:
        after = (st.status == LATE) & (st.paid_day >= days)
        carry.append(make_events(sched.cust[after], st.paid_day[after], np.zeros(int(after.sum())),
                                 -sched.amount[after], cat[after], CH["online"]))
        after = (st.status == MISSED) & (sched.due < days) & (sched.due + RETRY_DAYS >= days)
        carry.append(make_events(sched.cust[after], sched.due[after] + RETRY_DAYS, np.zeros(int(after.sum())),
                                 -sched.amount[after], cat[after], CH["direct_debit"], True))
    second = make_events(sched.cust[retry], sched.due[retry] + RETRY_DAYS, seconds(rng, int(retry.sum()), 4, 6),
                         -sched.amount[retry], cat[retry], CH["direct_debit"], True)
    return Events.concat([first, repay, second])


def realised_window_misses(sched: Schedule, st: Settlement, n: int, days: int) -> tuple[int, int]:
    """(customer-windows with a missed instalment, customer-windows) over as_of days with a full window."""
    missed = st.status == MISSED
    counts = np.bincount(sched.cust[missed].astype(np.int64) * days + sched.due[missed], minlength=n * days)
    cum = np.concatenate([np.zeros((n, 1)), np.cumsum(counts.reshape(n, days), axis=1)], axis=1)
    if days <= WINDOW:
        return 0, 0
    s = cum[:, WINDOW + 1:] - cum[:, 1:days - WINDOW + 1]
    return int((s > 0).sum()), int(s.size)
