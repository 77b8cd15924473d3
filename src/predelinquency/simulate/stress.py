"""The latent financial-stress process: a persistent AR(1) mood plus shock episodes (job loss, income drop,
expense shock) that ramp up over weeks, plateau, and sometimes recover.

Stress drives every warning signal and the chance of missing an instalment; `expected_miss_prob` gives the
generator's own forecast of that chance k days ahead, from which the labels' true_pd is built.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

PHI = 0.97                  # daily persistence of the AR(1) part (half-life ~23 days)
SIGMA_X = 0.6               # its stationary standard deviation
BURN_IN = 120               # days simulated before day 0 so episodes are already under way at the start
ONSET_HAZARD = 1 / 1000     # daily chance an episode starts, scaled by exp(0.4 * base_risk)
RAMP_DAYS = (14, 43)        # episodes build up over 2-6 weeks: the signals' lead time
SEVERITY = (1.5, 3.5)
RECOVERY_HAZARD = 1 / 50    # daily chance a plateaued episode starts to recover
DECAY = 0.92                # daily decay of a recovering episode
MISS_BETA = 1.2             # log-odds of missing per unit of stress
NONE, RAMP, PLATEAU, RECOVERY = range(4)
JOB_LOSS, INCOME_DROP, EXPENSE = range(3)


@dataclass
class StressPaths:
    """Per customer (rows) and day (columns): the latent state the generator acts on."""

    x: np.ndarray           # AR(1) part
    shock: np.ndarray       # episode part m >= 0
    phase: np.ndarray       # NONE / RAMP / PLATEAU / RECOVERY
    age: np.ndarray         # days since the episode started
    severity: np.ndarray    # plateau level M of the current episode
    ramp: np.ndarray        # ramp length R of the current episode
    income_mult: np.ndarray  # share of normal income still arriving (job loss -> 0)
    expense_mult: np.ndarray  # essential-spending multiplier (expense shocks -> up to 1.5)
    end: StressState | None = None  # the state on the last day, from which the bank continues

    @cached_property
    def level(self) -> np.ndarray:
        """Total stress: what signals and misses respond to."""
        return self.x + self.shock


def onset_hazard(base_risk: np.ndarray) -> np.ndarray:
    """Daily probability that a customer's shock episode starts (riskier customers are hit more often)."""
    return np.minimum(ONSET_HAZARD * np.exp(0.4 * base_risk), 1 / 120)


@dataclass
class StressState:
    """One day's latent state per customer: what the next day's step needs (persisted by `pde generate`)."""

    x: np.ndarray           # AR(1) part
    phase: np.ndarray       # NONE / RAMP / PLATEAU / RECOVERY
    age: np.ndarray         # days since the episode started
    sev: np.ndarray         # plateau level of the current episode
    ramp: np.ndarray        # ramp length of the current episode
    kind: np.ndarray        # JOB_LOSS / INCOME_DROP / EXPENSE
    cut: np.ndarray         # share of income an episode at its plateau takes away
    m: np.ndarray           # episode part of the stress

    @staticmethod
    def initial(rng: np.random.Generator, n: int) -> StressState:
        """The state before the burn-in: a stationary AR(1) draw and no episode."""
        return StressState(rng.normal(0, SIGMA_X, n), np.zeros(n, np.int8), np.zeros(n, np.int32), np.ones(n),
                           np.full(n, 28, np.int32), np.zeros(n, np.int8), np.zeros(n), np.zeros(n))


def step_stress(rng: np.random.Generator, s: StressState, h: np.ndarray) -> None:
    """Moves the state one day forward in place: AR(1) innovation, episode onsets, ramps, recoveries."""
    n = len(s.x)
    s.x = PHI * s.x + SIGMA_X * np.sqrt(1 - PHI**2) * rng.standard_normal(n)
    phase, age, kind = s.phase, s.age, s.kind
    u = rng.random((2, n))
    onset = (phase == NONE) & (u[0] < h)
    k = int(onset.sum())
    if k:
        phase[onset] = RAMP
        age[onset] = -1
        s.sev[onset] = rng.uniform(*SEVERITY, k)
        s.ramp[onset] = rng.integers(*RAMP_DAYS, k)
        kind[onset] = rng.choice(3, k, p=[0.35, 0.45, 0.2])
        s.cut[onset] = np.where(kind[onset] == JOB_LOSS, 1.0,
                                np.where(kind[onset] == INCOME_DROP, rng.uniform(0.25, 0.6, k), 0.0))
    recover = (phase == PLATEAU) & (u[1] < RECOVERY_HAZARD)
    active = (phase == RAMP) | (phase == PLATEAU)
    age[active] += 1
    phase[(phase == RAMP) & (age + 1 >= s.ramp)] = PLATEAU
    phase[recover] = RECOVERY
    s.m = np.where(phase == RAMP, s.sev * np.minimum(1.0, (age + 1) / s.ramp),
                   np.where(phase == PLATEAU, s.sev, np.where(phase == RECOVERY, s.m * DECAY, 0.0)))
    done = (phase == RECOVERY) & (s.m < 0.05)
    phase[done] = NONE
    s.m[done] = 0.0


def empty_paths(n: int, days: int) -> StressPaths:
    """Uninitialised paths for n customers over days."""
    shape = (n, days)
    return StressPaths(np.empty(shape, np.float32), np.empty(shape, np.float32), np.empty(shape, np.int8),
                       np.empty(shape, np.int16), np.empty(shape, np.float32), np.empty(shape, np.int16),
                       np.empty(shape, np.float32), np.empty(shape, np.float32))


def record_day(out: StressPaths, s: StressState, t: int) -> None:
    """Writes the state as day t of the paths."""
    frac = s.m / s.sev
    out.x[:, t] = s.x
    out.shock[:, t] = s.m
    out.phase[:, t] = s.phase
    out.age[:, t] = np.minimum(s.age, 30000)
    out.severity[:, t] = s.sev
    out.ramp[:, t] = s.ramp
    out.income_mult[:, t] = 1 - s.cut * frac
    out.expense_mult[:, t] = 1 + 0.5 * frac * (s.kind == EXPENSE)


def simulate_stress(rng: np.random.Generator, base_risk: np.ndarray, days: int) -> StressPaths:
    """Stress paths for days 0..days-1 after a burn-in, vectorised over customers (loops over days only);
    `end` holds the state on the last day."""
    h = onset_hazard(base_risk)
    s = StressState.initial(rng, len(base_risk))
    out = empty_paths(len(base_risk), days)
    for t in range(-BURN_IN, days):
        step_stress(rng, s, h)
        if t >= 0:
            record_day(out, s, t)
    out.end = s
    return out


def miss_logit(level: np.ndarray, base_risk: np.ndarray, intercept: float) -> np.ndarray:
    """Log-odds of missing an instalment due today at this stress level."""
    return intercept + MISS_BETA * level + base_risk[:, None]


def _probit_sigmoid(mean: np.ndarray, var: np.ndarray) -> np.ndarray:
    """E[sigmoid(Z)] for Z ~ N(mean, var), by the probit approximation."""
    return 1 / (1 + np.exp(-mean / np.sqrt(1 + np.pi * var / 8)))


def expected_miss_prob(p: StressPaths, base_risk: np.ndarray, intercept: float, rows: np.ndarray,
                       days: np.ndarray, k: np.ndarray) -> np.ndarray:
    """Forecast, from the state of customer rows[i] on day days[i], of the chance of missing an instalment
    due k[i] days later.

    The AR(1) part is conditionally normal; the episode part is a two-point mixture (continues as
    scheduled vs recovers on the way), and a customer without an episode may start one.
    """
    k = k.astype(np.float64)
    phase = p.phase[rows, days]
    sev = p.severity[rows, days].astype(np.float64)
    age = p.age[rows, days].astype(np.float64)
    ramp = p.ramp[rows, days].astype(np.float64)
    m = p.shock[rows, days].astype(np.float64)
    mean_x = PHI**k * p.x[rows, days]
    var = MISS_BETA**2 * SIGMA_X**2 * (1 - PHI ** (2 * k))
    # days at plateau (chances to recover) by the due date, and the level if still building up
    ramp_left = np.maximum(0.0, ramp - 1 - age)
    chances = np.where(phase == RAMP, np.maximum(0.0, k - ramp_left), np.where(phase == PLATEAU, k, 0.0))
    still = np.where(phase == RAMP, sev * np.minimum(1.0, (age + k + 1) / ramp), sev)
    w_stay = (1 - RECOVERY_HAZARD) ** chances
    decayed = sev * DECAY * (1 - DECAY**chances) / ((1 - DECAY) * np.maximum(chances, 1))
    # no episode now: one may start within k days and have partly built up by the due date
    q = 1 - (1 - onset_hazard(base_risk[rows])) ** k
    mean_sev, mean_ramp = sum(SEVERITY) / 2, sum(RAMP_DAYS) / 2
    onset_level = mean_sev * np.minimum(1.0, (k + 1) / (2 * mean_ramp))
    none = phase == NONE
    a = np.where(none, 0.0, np.where(phase == RECOVERY, m * DECAY**k, still))
    b = np.where(none, onset_level, decayed)
    w_a = np.where(none, 1 - q, np.where(phase == RECOVERY, 1.0, w_stay))
    base = intercept + base_risk[rows] + MISS_BETA * mean_x
    return w_a * _probit_sigmoid(base + MISS_BETA * a, var) + (1 - w_a) * _probit_sigmoid(base + MISS_BETA * b, var)
