"""The day-by-day current and savings account ledger: the events that depend on the running balance
(utility direct debits and lending-app repayments that bounce, late manual payments, savings top-ups and
drawdowns). Loops over days, vectorised over customers."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from predelinquency.simulate.customers import SELF_EMPLOYED, Customers
from predelinquency.simulate.events import CAT, CH, Events, make_events, seconds
from predelinquency.simulate.timeline import Timeline

EARLY_HOURS = 4             # income posted before the morning's direct debits are presented
_DD_HOURS = (4, 6)
RESCUE_CHANCE = 0.15        # daily chance of a bail-out once past the arranged overdraft


@dataclass
class Ledger:
    """Balance-dependent events and the end-of-day balances they produce, in cents."""

    events: Events
    balance: np.ndarray     # (n, days) current account
    savings: np.ndarray     # (n, days) savings account


def _key(ev: Events, days: int) -> np.ndarray:
    return ev.cust.astype(np.int64) * days + ev.day


def run_ledger(rng: np.random.Generator, c: Customers, level: np.ndarray, tl: Timeline, fixed: Events,
               bills: np.ndarray, repayments: np.ndarray, carry: list[Events] | None = None) -> Ledger:
    """Walk the days: present debits against the balance, schedule late payments, move savings.

    Balances start from c.current_open and c.savings_open; manual payments falling past the last day go
    to `carry`."""
    n, days = level.shape
    size = n * days
    posted = ~fixed.failed
    net = np.bincount(_key(fixed, days)[posted], weights=fixed.cents[posted], minlength=size)
    net = net.reshape(n, days).astype(np.int64)
    early = posted & (fixed.cents > 0) & (fixed.sec < EARLY_HOURS * 3600)
    early_in = np.bincount(_key(fixed, days)[early], weights=fixed.cents[early], minlength=size)
    early_in = early_in.reshape(n, days).astype(np.int64)
    later = np.zeros((n, days + 40), np.int64)   # manual payments scheduled for a later day
    bal = c.current_open.copy()
    sav = c.savings_open.copy()
    out_bal = np.empty((n, days), np.int64)
    out_sav = np.empty((n, days), np.int64)
    keep = np.round(0.8 * c.income).astype(np.int64)
    buffer = np.round(0.1 * c.income).astype(np.int64)
    self_emp = c.employment == SELF_EMPLOYED
    parts: list[Events] = []
    for t in range(days):
        avail = bal + early_in[:, t] + c.overdraft
        spent = np.zeros(n, np.int64)
        # utility bills: bounce on insufficient funds, or (stress) a cancelled mandate / disputed bill
        idx = np.flatnonzero(bills[:, t])
        if len(idx):
            amt = bills[idx, t]
            p_fail = 1 / (1 + np.exp(6.0 - 1.3 * level[idx, t]))
            fail = (avail[idx] < amt) | (rng.random(len(idx)) < p_fail)
            parts.append(make_events(idx, np.full(len(idx), t), seconds(rng, len(idx), *_DD_HOURS), -amt,
                                     CAT["utilities"], CH["direct_debit"], fail))
            ok = idx[~fail]
            spent[ok] += amt[~fail]
            avail[ok] -= amt[~fail]
            # paid by hand days later: the "utility delay" signal, longer when more stressed
            f = idx[fail]
            when = t + np.minimum(rng.geometric(0.25, len(f)) + 1 + np.round(np.maximum(level[f, t], 0)), 30)
            when = when.astype(np.int64)
            np.add.at(later, (f, when), amt[fail])
            soon = when < days
            parts.append(make_events(f[soon], when[soon], seconds(rng, int(soon.sum()), 9, 21), -amt[fail][soon],
                                     CAT["utilities"], CH["online"]))
            if carry is not None:
                carry.append(make_events(f[~soon], when[~soon], np.zeros(int((~soon).sum())), -amt[fail][~soon],
                                         CAT["utilities"], CH["online"]))
        # lending-app repayments: bounce on insufficient funds, then collected by card three days later
        idx = np.flatnonzero(repayments[:, t])
        if len(idx):
            amt = repayments[idx, t]
            fail = avail[idx] < amt
            parts.append(make_events(idx, np.full(len(idx), t), seconds(rng, len(idx), *_DD_HOURS), -amt,
                                     CAT["lending_app_repayment"], CH["direct_debit"], fail))
            ok = idx[~fail]
            spent[ok] += amt[~fail]
            f = idx[fail]
            np.add.at(later, (f, t + 3), amt[fail])
            soon = np.full(len(f), t + 3 < days)
            parts.append(make_events(f[soon], np.full(int(soon.sum()), t + 3), seconds(rng, int(soon.sum()), 9, 21),
                                     -amt[fail][soon], CAT["lending_app_repayment"], CH["online"]))
            if carry is not None:
                carry.append(make_events(f[~soon], np.full(int((~soon).sum()), t + 3), np.zeros(int((~soon).sum())),
                                         -amt[fail][~soon], CAT["lending_app_repayment"], CH["online"]))
        bal = bal + net[:, t] - spent - later[:, t]

        # savings: cover an overdrawn balance, draw down when stressed, put away surplus after pay day
        can = c.has_savings & (sav > 0)
        cover = can & (bal < 0) & (rng.random(n) < 0.7)
        stressed = can & ~cover & (level[:, t] > 1.2) & (tl.weekday[t] == 5) & (rng.random(n) < 0.5)
        x_cover = np.where(cover, np.minimum(sav, buffer - bal), 0)
        x_stress = np.where(stressed, np.round(sav * rng.uniform(0.1, 0.3, n)).astype(np.int64), 0)
        paid_today = np.where(self_emp, tl.dom[t] == 28, early_in[:, t] > 0)
        save = c.has_savings & paid_today & (level[:, t] < 0.5) & (c.save_share > 0) & (bal > keep)
        x_save = np.where(save, np.round((bal - keep) * c.save_share).astype(np.int64), 0)
        move = x_cover + x_stress - x_save
        idx = np.flatnonzero(move)
        if len(idx):
            parts.append(make_events(idx, np.full(len(idx), t), seconds(rng, len(idx), 19, 23), move[idx],
                                     CAT["savings_transfer"], CH["online"]))
        bal = bal + move
        sav = sav - move
        # past the arranged overdraft, family and friends sometimes bail the customer out
        rescue = np.flatnonzero((bal < -c.overdraft) & (rng.random(n) < RESCUE_CHANCE))
        if len(rescue):
            gift = 1000 * np.ceil((buffer[rescue] - c.overdraft[rescue] - bal[rescue]) / 1000).astype(np.int64)
            parts.append(make_events(rescue, np.full(len(rescue), t), seconds(rng, len(rescue), 10, 20), gift,
                                     CAT["transfer_in"], CH["transfer"]))
            bal[rescue] += gift
        out_bal[:, t] = bal
        out_sav[:, t] = sav
    events = Events.concat(parts) if parts else Events.concat([fixed.where(np.zeros(len(fixed), bool))])
    return Ledger(events, out_bal, out_sav)
