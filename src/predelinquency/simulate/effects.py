"""Hidden, heterogeneous effects of contacts: owned by the generator like true_pd, never a feature.

A contact made on day d works in two steps:
1. The customer responds (reads the message, answers the call, takes up the offer) with probability
   RESPONSE[action] x engagement, a hidden per-customer trait (15 % of customers ignore every contact,
   the others' engagement averages 1), capped at MAX_RESPONSE.
2. If they respond, the miss log-odds of every instalment due in (d, d + outcome_window_days] fall by a
   lift that depends on the action and on the customer's hidden state on d (stress level x + m, episode
   phase and kind, the hidden "inattentive" trait). Several active contacts: the strongest lift applies.

Lifts (log-odds; a lift L cuts a small miss probability by about 1 - exp(-L)):

| action                | condition on d (first that holds)                 | lift |
|-----------------------|---------------------------------------------------|------|
| soft_reminder         | inattentive, low stress (level < 0.5)             | 1.8  |
|                       | inattentive, stressed, not losing their job       | 0.6  |
|                       | inattentive, job loss under way                   | 0.1  |
|                       | attentive, low stress                             | 0.3  |
|                       | otherwise                                         | 0.05 |
| agent_call            | episode ramping up, level < 2 (early stress)      | 1.4  |
|                       | episode ramping up, level >= 2                    | 0.7  |
|                       | no episode or recovering, moderate (0.5 to 1.5)   | 0.7  |
|                       | job loss at its plateau                           | 0.05 |
|                       | other plateaus                                    | 0.35 |
|                       | otherwise                                         | 0.2  |
| restructuring_offer   | income drop (ramp or plateau)                     | 1.8  |
|                       | expense shock                                     | 0.5  |
|                       | job loss ramping up                               | 0.5  |
|                       | job loss at its plateau                           | 0.1  |
|                       | recovering                                        | 0.4  |
|                       | no episode, level >= 0.5                          | 0.2  |
|                       | otherwise                                         | 0    |
| payment_holiday       | expense shock (ramp or plateau)                   | 2.0  |
|                       | income drop                                       | 0.7  |
|                       | job loss ramping up                               | 0.4  |
|                       | job loss at its plateau                           | 0.1  |
|                       | recovering                                        | 0.2  |
|                       | no episode, moderate                              | 0.35 |
|                       | otherwise                                         | 0    |
| financial_counselling | recovering                                        | 0.9  |
|                       | no episode, moderate                              | 0.6  |
|                       | income drop or expense shock                      | 0.4  |
|                       | job loss                                          | 0.15 |
|                       | otherwise                                         | 0.05 |

The sizes follow what collections teams report for early-stage contact (a fifth to a half fewer missed
payments among the customers a contact suits, next to nothing among the rest): with the response
probabilities below, the right contact prevents roughly half of a suited customer's misses and the wrong
one almost none. Contacting is worth measuring, and worth targeting.

So a reminder helps customers who have the money but forget, a call helps in early stress, a restructuring
offer after an income loss, a payment holiday bridges a short expense shock, little helps deep job loss,
and many contacts have no effect at all (ignored, or no lift for the customer's situation).
"""

from __future__ import annotations

import numpy as np

from predelinquency.domain.vocabulary import INTERVENTION_TYPES
from predelinquency.simulate.state import Traits
from predelinquency.simulate.stress import EXPENSE, INCOME_DROP, JOB_LOSS, NONE, PLATEAU, RAMP, RECOVERY, StressState

RESPONSE = {"soft_reminder": 0.7, "agent_call": 0.55, "restructuring_offer": 0.45, "payment_holiday": 0.5,
            "financial_counselling": 0.3}
MAX_RESPONSE = 0.95


def response_prob(traits: Traits) -> np.ndarray:
    """(n, actions) probability that each customer responds to each action (INTERVENTION_TYPES order)."""
    base = np.array([RESPONSE[a] for a in INTERVENTION_TYPES])
    return np.minimum(base[None, :] * traits.engagement[:, None], MAX_RESPONSE)


def lifts(s: StressState, traits: Traits) -> np.ndarray:
    """(n, actions) fall in the miss log-odds if the customer responds, from the hidden state today."""
    level = s.x + s.m
    phase, kind = s.phase, s.kind
    episode = (phase == RAMP) | (phase == PLATEAU)
    ramp, plateau, recovering, calm = phase == RAMP, phase == PLATEAU, phase == RECOVERY, phase == NONE
    job, income, expense = episode & (kind == JOB_LOSS), episode & (kind == INCOME_DROP), episode & (kind == EXPENSE)
    low = level < 0.5
    moderate = (level >= 0.5) & (level < 1.5)
    inattentive = traits.inattentive.astype(bool)

    reminder = np.select([inattentive & low, inattentive & ~job, inattentive, low], [1.8, 0.6, 0.1, 0.3], 0.05)
    call = np.select([ramp & (level < 2.0), ramp, (calm | recovering) & moderate, plateau & job, plateau],
                     [1.4, 0.7, 0.7, 0.05, 0.35], 0.2)
    restructure = np.select([income, expense, job & ramp, job, recovering, calm & ~low],
                            [1.8, 0.5, 0.5, 0.1, 0.4, 0.2], 0.0)
    holiday = np.select([expense, income, job & ramp, job, recovering, calm & moderate],
                        [2.0, 0.7, 0.4, 0.1, 0.2, 0.35], 0.0)
    counselling = np.select([recovering, calm & moderate, income | expense, job], [0.9, 0.6, 0.4, 0.15], 0.05)
    by_action = {"soft_reminder": reminder, "agent_call": call, "restructuring_offer": restructure,
                 "payment_holiday": holiday, "financial_counselling": counselling}
    return np.stack([by_action[a] for a in INTERVENTION_TYPES], axis=1)


def p_miss(logit: np.ndarray, lift: np.ndarray) -> np.ndarray:
    """P(miss) of an instalment with these miss log-odds after a lift (the one formula every path uses)."""
    return 1 / (1 + np.exp(-(logit - lift)))
