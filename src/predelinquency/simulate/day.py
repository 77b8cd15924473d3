"""One more day of a chunk, simulated in memory from its state: the same stress dynamics, income, spending,
instalments and ledger as generation, at day level, plus the hidden effects of the day's contacts and the
potential outcomes of the customers eligible for contact."""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from datetime import date, timedelta

import numpy as np

from predelinquency.simulate.customers import CARD, LOAN
from predelinquency.simulate.daily import daily_arrays
from predelinquency.simulate.effects import lifts, p_miss, response_prob
from predelinquency.simulate.events import CAT, CH, Events, make_events, seconds
from predelinquency.simulate.income import income_events
from predelinquency.simulate.labels import true_pd
from predelinquency.simulate.ledger import run_ledger
from predelinquency.simulate.payments import LATE, LATE_SHIFT, MISSED, PAID, RETRY_DAYS
from predelinquency.simulate.spending import cash_and_gambling, daily_spending, lending_app, monthly_outgoings
from predelinquency.simulate.state import Active, Pending, SimState
from predelinquency.simulate.stress import (
    MISS_BETA,
    StressState,
    empty_paths,
    onset_hazard,
    record_day,
    step_stress,
)
from predelinquency.simulate.timeline import Timeline

ADVANCE_KEY = 9_001     # spawn key of a day's stream: (ADVANCE_KEY, epoch day, chunk index)
RESPONSE_KEY = 9_002    # contact responses: their own stream, so contacts shift no other draw
_EPOCH = date(1970, 1, 1)
_EMA_DAYS = 30          # the others_rate average's memory


def day_rngs(seed: int, epoch_day: int, index: int) -> tuple[np.random.Generator, np.random.Generator]:
    """The day's main stream and its contact-response stream for chunk `index`."""
    return (np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(ADVANCE_KEY, epoch_day, index))),
            np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(RESPONSE_KEY, epoch_day, index))))


@dataclass
class Instalments:
    """Instalments due on the day, settled."""

    cust: np.ndarray
    product: np.ndarray
    amount: np.ndarray      # cents
    status: np.ndarray      # PAID / LATE / MISSED
    days_late: np.ndarray   # -1 when missed
    next_due: np.ndarray    # epoch day of the product's next instalment (the new pending row)


@dataclass
class Outcomes:
    """Potential outcomes settled on the day, one row per eligibility."""

    cust: np.ndarray
    eligible_on: np.ndarray
    due: np.ndarray
    p_none: np.ndarray
    p_action: np.ndarray    # (k, actions)
    missed_none: np.ndarray
    missed_action: np.ndarray  # (k, actions) bool


@dataclass
class DayOutput:
    """What one simulated day writes, and the state it ends in."""

    events: Events          # day index 0, sorted by customer then time
    instalments: Instalments
    daily: dict[str, np.ndarray]    # (n, 1)
    balance: np.ndarray     # the ledger's end-of-day current balance
    true_pd: np.ndarray     # (n,)
    outcomes: Outcomes
    responded: np.ndarray   # per contact: did the customer respond
    state: SimState


def _due_today(s: SimState, dom: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(customer, product, amount) of the instalments due on a day of month."""
    c = s.customers
    parts = [(np.flatnonzero(has & (due == dom)), product, amount)
             for product, has, due, amount in ((CARD, c.has_card, c.card_due_day, c.card_instalment),
                                               (LOAN, c.has_loan, c.loan_due_day, c.loan_instalment))]
    cust = np.concatenate([p[0] for p in parts])
    product = np.concatenate([np.full(len(p[0]), p[1], np.int8) for p in parts])
    amount = np.concatenate([p[2][p[0]] for p in parts])
    order = np.lexsort((product, cust))
    return cust[order], product[order], amount[order]


def _next_due(s: SimState, tl: Timeline, window: int) -> np.ndarray:
    """Per customer: epoch day of the next instalment due after the day, or -1 if none within the window."""
    c = s.customers
    best = np.full(c.n, np.iinfo(np.int64).max)
    for has, due_day in ((c.has_card, c.card_due_day), (c.has_loan, c.loan_due_day)):
        due = tl.due_days(np.where(has, due_day, 1))
        first = np.where(due[:, 0] > 0, due[:, 0], due[:, 1])
        best = np.where(has, np.minimum(best, first), best)
    return np.where(best <= window, best + tl.epoch_day0, -1)


def _active_lift(active: Active, cust: np.ndarray, day: int, window: int, exclude_on: np.ndarray | None = None
                 ) -> np.ndarray:
    """Strongest lift of the active contacts of each customer in `cust` on `day` (contacts made on
    exclude_on[i] left out)."""
    out = np.zeros(len(cust))
    live = (active.made_on < day) & (day <= active.made_on + window)
    if not live.any() or not len(cust):
        return out
    a = active.where(live)
    for i, ci in enumerate(cust):
        mine = a.cust == ci
        if exclude_on is not None:
            mine &= a.made_on != exclude_on[i]
        if mine.any():
            out[i] = a.lift[mine].max()
    return out


def _carry_seconds(rng: np.random.Generator, ev: Events) -> np.ndarray:
    """Times of day of scheduled movements: income before the morning debits, debits early, the rest by day."""
    m = len(ev)
    debit = ev.chan == CH["direct_debit"]
    income = ev.cents > 0
    return np.where(income, seconds(rng, m, 0.5, 3), np.where(debit, seconds(rng, m, 4, 6), seconds(rng, m, 8, 21)))


def _relative(ev: Events, offset: int) -> Events:
    """Events with their day index shifted by offset (day index -> epoch day and back)."""
    return Events(ev.cust, (ev.day.astype(np.int64) + offset).astype(np.int32), ev.sec, ev.cents, ev.cat, ev.chan,
                  ev.failed)


def simulate_day(s: SimState, seed: int, index: int, intercept: float, *, grace_days: int, txn_min: int,
                 window: int, contact_cust: np.ndarray, contact_action: np.ndarray,
                 eligible: np.ndarray) -> DayOutput:
    """The chunk's next day (s.day + 1): contacts (local index, action index) made and customers (local
    index) eligible on it."""
    d = s.day + 1
    c = s.customers
    n = c.n
    rng, responses = day_rngs(seed, d, index)
    tl = Timeline(_EPOCH + timedelta(days=d), 1)
    stress = StressState(*(np.array(getattr(s.stress, f.name)) for f in fields(StressState)))
    step_stress(rng, stress, onset_hazard(c.base_risk))
    paths = empty_paths(n, 1)
    record_day(paths, stress, 0)
    level = paths.level[:, 0].astype(np.float64)

    # contacts: a response draw per customer, the same whichever action (the potential outcomes use it too)
    draw = responses.random(n)
    respond = response_prob(s.traits)
    lift = lifts(stress, s.traits)
    responded = draw[contact_cust] < respond[contact_cust, contact_action]
    active = s.active.where(s.active.made_on + window > d)
    active = Active.concat([active, Active(contact_cust[responded].astype(np.int64), np.full(int(responded.sum()), d),
                                           lift[contact_cust[responded], contact_action[responded]])])
    who = np.union1d(eligible, contact_cust).astype(np.int64)
    due = _next_due(s, tl, window)[who]
    who, due = who[due >= 0], due[due >= 0]
    pending = Pending.concat([s.pending, Pending(who, np.full(len(who), d), due, respond[who], lift[who], draw[who])])

    # instalments due today: miss log-odds as in generation, less the strongest active lift
    cust, product, amount = _due_today(s, int(tl.dom[0]))
    m = len(cust)
    logit = intercept + MISS_BETA * level[cust] + c.base_risk[cust]
    applied = _active_lift(active, cust, d, window)
    u = rng.random(m)
    late_by = np.minimum(rng.geometric(0.45, m), max(grace_days, 1)).astype(np.int32)
    pm = p_miss(logit, applied)
    p_late = p_miss(logit, applied - LATE_SHIFT) if grace_days > 0 else np.zeros(m)
    status = np.where(u < pm, MISSED, np.where(u < pm + (1 - pm) * p_late, LATE, PAID)).astype(np.int8)
    days_late = np.where(status == LATE, late_by, np.where(status == PAID, 0, -1)).astype(np.int32)
    due_days = tl.due_days(np.where(product == CARD, c.card_due_day[cust], c.loan_due_day[cust]))
    inst = Instalments(cust, product, amount, status, days_late, due_days[:, 1] + tl.epoch_day0)
    outcomes = _potential_outcomes(pending.where(pending.due == d), active, cust, logit, u, d, window)
    pending = pending.where(pending.due != d)

    # the day's movements
    carry: list[Events] = []
    today = s.carry.day == d
    scheduled = s.carry.where(today)
    scheduled.sec = _carry_seconds(rng, scheduled)
    owed = (scheduled.cat == CAT["lending_app_repayment"]) & (scheduled.chan == CH["direct_debit"]) & ~scheduled.failed
    repayments = np.zeros((n, 1), np.int64)
    np.add.at(repayments, (scheduled.cust[owed], 0), -scheduled.cents[owed])
    cat = np.where(product == CARD, CAT["card_repayment"], CAT["loan_instalment"]).astype(np.int8)
    zero = np.zeros(m, np.int32)
    debits = make_events(cust, zero, seconds(rng, m, 4, 6), -amount, cat, CH["direct_debit"], status != PAID)
    late, missed = status == LATE, status == MISSED
    carry.append(make_events(cust[late], late_by[late], zero[late], -amount[late], cat[late], CH["online"]))
    carry.append(make_events(cust[missed], np.full(int(missed.sum()), RETRY_DAYS), zero[missed], -amount[missed],
                             cat[missed], CH["direct_debit"], True))
    credits, _ = lending_app(rng, paths, 1, carry)
    outgoings, bills = monthly_outgoings(rng, c, tl)
    fixed = [_relative(scheduled.where(~owed), -d), debits, income_events(rng, c, paths, tl, carry),
             cash_and_gambling(rng, c, paths, tl), credits, outgoings]
    others = (sum(np.bincount(e.cust, minlength=n) for e in fixed) + (bills[:, 0] > 0) + (repayments[:, 0] > 0))
    fixed.append(daily_spending(rng, c, paths, int(tl.weekday[0]), s.others_rate, txn_min))
    fixed_ev = Events.concat(fixed)
    opened = replace(c, current_open=s.balance, savings_open=s.savings)
    ledger = run_ledger(rng, opened, paths.level, tl, fixed_ev, bills, repayments, carry)
    ev = Events.concat([fixed_ev, ledger.events])
    ev = ev.where(np.argsort(ev.cust.astype(np.int64) * 86400 + ev.sec, kind="stable"))
    daily = daily_arrays(ev, n, 1, s.balance, s.savings)

    new_carry = Events.concat([s.carry.where(~today), _relative(Events.concat(carry), d)])
    others_rate = s.others_rate + (others - s.others_rate) / _EMA_DAYS
    state = SimState(d, c, s.traits, stress, ledger.balance[:, 0].copy(), ledger.savings[:, 0].copy(), others_rate,
                     new_carry, active, pending)
    return DayOutput(ev, inst, daily, ledger.balance[:, 0], true_pd(c, paths, tl, intercept)[:, 0], outcomes,
                     responded, state)


def _potential_outcomes(rec: Pending, active: Active, cust: np.ndarray, logit: np.ndarray, u: np.ndarray,
                        day: int, window: int) -> Outcomes:
    """For eligibilities whose instalment is due today: P(miss) and the realised miss with no contact from
    the eligibility and with each action, under today's draws. A customer misses if any instalment due
    today is missed; all of theirs share the log-odds, so the smallest uniform decides."""
    k, actions = len(rec.cust), rec.respond.shape[1]
    uniq, first, count = np.unique(cust, return_index=True, return_counts=True)
    pos = np.searchsorted(uniq, rec.cust)
    if k and ((pos >= len(uniq)).any() or not np.array_equal(uniq[pos], rec.cust)):
        raise RuntimeError("an eligibility's instalment is not due on its settlement day")
    lowest = np.minimum.reduceat(u, first)[pos] if k else np.zeros(0)
    base, times = logit[first[pos]], count[pos]
    other = _active_lift(active, rec.cust, day, window, exclude_on=rec.eligible_on)

    def p_any(lift: np.ndarray) -> np.ndarray:
        return 1 - (1 - p_miss(base, lift)) ** times

    def missed(lift: np.ndarray) -> np.ndarray:
        return lowest < p_miss(base, lift)

    p_none = p_any(other)
    p_action = np.empty((k, actions))
    missed_action = np.empty((k, actions), bool)
    for a in range(actions):
        helped = np.maximum(other, rec.lift[:, a])
        p_action[:, a] = rec.respond[:, a] * p_any(helped) + (1 - rec.respond[:, a]) * p_none
        missed_action[:, a] = missed(np.where(rec.draw < rec.respond[:, a], helped, other))
    return Outcomes(rec.cust, rec.eligible_on, rec.due, p_none, p_action, missed(other), missed_action)
