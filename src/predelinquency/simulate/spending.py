"""Money out that does not depend on the running balance: everyday card spending, cash, gambling, rent,
subscriptions, and payday-lender (lending app) credits with their repayment schedule."""

from __future__ import annotations

import numpy as np

from predelinquency.simulate.customers import Customers
from predelinquency.simulate.events import CAT, CH, Events, make_events, seconds
from predelinquency.simulate.income import spread_in_months
from predelinquency.simulate.stress import StressPaths
from predelinquency.simulate.timeline import Timeline

# everyday spending mix: (category, share within its group, amount relative to the customer's mean)
_ESSENTIAL = (("groceries", 0.55, 1.5), ("transport", 0.30, 0.55), ("health", 0.15, 1.2))
_DISCRETIONARY = (("dining", 0.40, 0.7), ("entertainment", 0.17, 0.9), ("shopping", 0.37, 1.3), ("travel", 0.06, 4.0))
P2P_SHARE = 0.06


def _stressed(level: np.ndarray) -> np.ndarray:
    return np.maximum(level, 0.0)


def _poisson_events(rng: np.random.Generator, rate: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(customer, day) of events drawn from a per customer-day Poisson rate matrix."""
    counts = rng.poisson(rate)
    flat = np.repeat(np.arange(counts.size), counts.ravel())
    return np.divmod(flat, rate.shape[1])


def cash_and_gambling(rng: np.random.Generator, c: Customers, p: StressPaths, tl: Timeline) -> Events:
    """ATM withdrawals (spiking under stress and hoarding cash before pay day) and gambling."""
    s = _stressed(p.level)
    dom = tl.dom[: tl.days][None, :]
    to_pay = (c.pay_day[:, None].astype(np.int64) - dom) % 30
    pre_payday = (c.pay_day[:, None] > 0) & (to_pay >= 1) & (to_pay <= 5)
    atm_rate = np.minimum(c.atm_rate[:, None] * np.exp(0.45 * s) * (1 + 1.5 * pre_payday * (s > 1)), 0.6)
    cust, day = _poisson_events(rng, atm_rate)
    pounds = 10 * np.round(rng.lognormal(np.log(6.0), 0.5, len(cust)) * (1 + 0.25 * s[cust, day]))
    atm = make_events(cust, day, seconds(rng, len(cust), 7, 23), -100 * np.clip(pounds, 10, 500),
                      CAT["atm_withdrawal"], CH["atm"])

    # habitual gamblers bet more when stressed; a few others start chasing losses under heavy stress
    g_rate = np.minimum(c.gamble_rate[:, None] * np.exp(0.8 * s) + 0.01 * np.exp(1.3 * np.maximum(s - 1, 0)), 1.5)
    cust, day = _poisson_events(rng, g_rate)
    cents = np.round(rng.lognormal(np.log(2000), 0.8, len(cust)) * (1 + 0.3 * s[cust, day]))
    chan = np.where(rng.random(len(cust)) < 0.85, CH["online"], CH["card"])
    sec = (rng.integers(10 * 3600, 26 * 3600, len(cust)) % 86400).astype(np.int32)  # evenings and nights
    gambling = make_events(cust, day, sec, -np.maximum(cents, 100), CAT["gambling"], chan)
    return Events.concat([atm, gambling])


def lending_app(rng: np.random.Generator, p: StressPaths, days: int,
                carry: list[Events] | None = None) -> tuple[Events, np.ndarray]:
    """Payday-lender credits taken under stress, and the (n, days) matrix of repayments they fall due;
    repayments due past the last day go to `carry` as direct debits."""
    s = _stressed(p.level)
    rate = np.minimum(0.0012 * np.exp(1.1 * s), 0.08)
    cust, day = _poisson_events(rng, rate)
    cents = 5000 * rng.integers(2, 13, len(cust)).astype(np.int64)
    credits = make_events(cust, day, seconds(rng, len(cust), 9, 22), cents, CAT["lending_app_credit"], CH["transfer"])
    due = day + rng.choice([14, 28], len(cust))
    owed = np.round(cents * rng.uniform(1.15, 1.35, len(cust))).astype(np.int64)
    keep = due < days
    if carry is not None:
        carry.append(make_events(cust[~keep], due[~keep], np.zeros(int((~keep).sum())), -owed[~keep],
                                 CAT["lending_app_repayment"], CH["direct_debit"]))
    repay = np.zeros((p.level.shape[0], days), np.int64)
    np.add.at(repay, (cust[keep], due[keep]), owed[keep])
    return credits, repay


def monthly_outgoings(rng: np.random.Generator, c: Customers, tl: Timeline) -> tuple[Events, np.ndarray]:
    """Rent (standing order) and subscriptions (card), and the (n, days) matrix of utility bills due."""
    days = tl.days
    parts = []
    renters = np.flatnonzero(c.rent > 0)
    due = tl.due_days(c.rent_day[renters])
    r, col = np.nonzero((due >= 0) & (due < days))
    rows = renters[r]
    parts.append(make_events(rows, due[r, col], seconds(rng, len(rows), 7, 9), -c.rent[rows], CAT["rent"],
                             CH["transfer"]))
    bills = np.zeros((c.n, days), np.int64)
    for slot in range(c.subs_day.shape[1]):
        has = np.flatnonzero(c.subs_day[:, slot] > 0)
        due = tl.due_days(c.subs_day[has, slot])
        r, col = np.nonzero((due >= 0) & (due < days))
        rows = has[r]
        parts.append(make_events(rows, due[r, col], seconds(rng, len(rows), 0, 6), -c.subs_amount[rows, slot],
                                 CAT["subscriptions"], CH["card"]))
    for slot in range(c.util_day.shape[1]):
        has = np.flatnonzero(c.util_day[:, slot] > 0)
        due = tl.due_days(c.util_day[has, slot])
        r, col = np.nonzero((due >= 0) & (due < days))
        rows = has[r]
        # bills vary month to month (seasonal use, tariff changes)
        amount = np.round(c.util_amount[rows, slot] * rng.uniform(0.85, 1.2, len(rows))).astype(np.int64)
        np.add.at(bills, (rows, due[r, col]), amount)
    return Events.concat(parts), bills


def everyday_spending(rng: np.random.Generator, c: Customers, p: StressPaths, tl: Timeline,
                      other_per_month: np.ndarray, txn_min: int) -> Events:
    """Card spending topping each customer-month up to its activity level (never below txn_min)."""
    frac = tl.month_days() / 30.4
    target = np.maximum(c.activity[:, None] * rng.uniform(0.95, 1.05, (c.n, tl.n_months)), txn_min) * frac[None, :]
    counts = np.maximum(np.ceil(target - other_per_month), np.round(8 * frac[None, :])).astype(np.int64)
    # people spend more at weekends and cut back when income falls
    week = WEEK_WEIGHTS[tl.weekday]
    weights = week[None, :] * (0.55 + 0.45 * p.income_mult)
    cust, day = spread_in_months(rng, tl, counts, weights)
    return spending_details(rng, c, cust, day, p.level[cust, day], p.expense_mult[cust, day])


# the weekly spending pattern (Monday first); spending days are drawn in proportion to it
WEEK_WEIGHTS = np.array([0.9, 0.9, 0.95, 1.0, 1.2, 1.3, 0.8])


def daily_spending(rng: np.random.Generator, c: Customers, p: StressPaths, weekday: int,
                   others_rate: np.ndarray, txn_min: int) -> Events:
    """One day of card spending (day index 0) at the rate `everyday_spending` gives a month: the activity
    level less the other transactions (`others_rate` per day), never under 8 a month, spread by weekday."""
    # + 0.5: the monthly count is rounded up
    per_month = np.maximum(np.maximum(c.activity, txn_min) + 0.5 - 30.4 * others_rate, 8.0)
    rate = per_month / 30.4 * WEEK_WEIGHTS[weekday] / WEEK_WEIGHTS.mean()
    cust = np.repeat(np.arange(c.n), rng.poisson(rate))
    day = np.zeros(len(cust), np.int64)
    return spending_details(rng, c, cust, day, p.level[cust, 0], p.expense_mult[cust, 0])


def spending_details(rng: np.random.Generator, c: Customers, cust: np.ndarray, day: np.ndarray,
                     level: np.ndarray, expense_mult: np.ndarray) -> Events:
    """Category, amount, channel and time of each spending event (customer, day), given the stress and
    essential-spending multiplier on its day."""
    m = len(cust)
    s = _stressed(level)
    share = c.discretionary_share[cust] * np.exp(-0.35 * s)
    discretionary = rng.random(m) < share / (share + 1 - c.discretionary_share[cust])
    u = rng.random(m)
    cat = np.empty(m, np.int8)
    rel = np.empty(m)
    for group, mask in ((_ESSENTIAL, ~discretionary), (_DISCRETIONARY, discretionary)):
        edges = np.cumsum([w for _, w, _ in group])
        pick = np.minimum(np.searchsorted(edges, u[mask] * edges[-1], side="right"), len(group) - 1)
        cat[mask] = np.array([CAT[name] for name, _, _ in group], np.int8)[pick]
        # relative amounts normalised to mean 1 within the group, so the budget holds whatever the mix
        shares, amounts = np.array([w for _, w, _ in group]), np.array([r for _, _, r in group])
        rel[mask] = (amounts / float(shares @ amounts))[pick]
    p2p = rng.random(m) < P2P_SHARE
    cat[p2p] = CAT["transfer_out"]
    rel[p2p] = 1.0
    rel = np.where(discretionary, rel, rel * expense_mult)
    cents = np.maximum(50, np.round(c.spend_amount[cust] * rel * rng.lognormal(-0.18, 0.6, m)))
    online = np.isin(cat, (CAT["shopping"], CAT["entertainment"], CAT["travel"])) & (rng.random(m) < 0.25)
    chan = np.where(p2p, CH["transfer"], np.where(online, CH["online"], CH["card"]))
    return make_events(cust, day, seconds(rng, m, 7, 23), -cents, cat, chan)
