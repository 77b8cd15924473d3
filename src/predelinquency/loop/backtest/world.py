"""The backtest's no-contact world: the bank played forward in memory, scored every plan day by the product's
own code, with every unit's potential outcomes under the same draws.

Plan day t is business date first_day + t. Its scores are the nightly's: features at as_of = that date from the
data before it (the 90-day daily window extended by each simulated day, payments settled as `pde advance` would,
customers and accounts as loaded: outstanding stays frozen, as in `pde advance`), the PD champion's calibrated PD
(no explanations), the uplift model's expected fall in P(miss) per action and scoring/actions.action_benefits.
Approximation: the scores follow the no-contact trajectory, so a customer whose miss a policy prevented still
looks as on the no-contact data afterwards ("scored_on": "no-contact world").
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
from sqlalchemy import Connection, text

from predelinquency.db.inputs import load_feature_inputs
from predelinquency.db.runs import Progress, no_progress
from predelinquency.domain.daily import WINDOW_DAYS
from predelinquency.domain.vocabulary import INTERVENTION_TYPES
from predelinquency.errors import PdeError
from predelinquency.features.build import feature_matrix
from predelinquency.features.registry import FEATURE_NAMES
from predelinquency.features.window import Panel, build_panel, index_of
from predelinquency.model.pd_model import PDModel
from predelinquency.model.uplift.model import UpliftModel, prior_model
from predelinquency.scoring.actions import action_benefits
from predelinquency.scoring.compute import model_columns
from predelinquency.scoring.decide import exposure_and_due, uplift_inputs
from predelinquency.settings import Settings
from predelinquency.simulate.forward import ForwardBank, ForwardDay

_EPOCH = date(1970, 1, 1)
_ALL_PAYMENTS = date(9999, 12, 31)   # pending instalments too: the forward run settles them
# (plan day, feature matrix in FEATURE_NAMES order, customer ids): a study's view of what each plan day scored
FeatureHook = Callable[[int, np.ndarray, np.ndarray], None]


@dataclass
class World:
    """Plan day × customer (× action) arrays of the no-contact world; customers are the active ones, ascending."""

    customer_ids: np.ndarray
    first_day: date                 # plan day 0
    window: int                     # operations.outcome_window_days
    seed: int                       # the bank's seed (the random policy's draws)
    actions: list[str]              # the configured actions, the column order of every (…, actions) array
    costs: np.ndarray               # (actions,) configured cost per contact
    value: np.ndarray               # (n,) exposure × LGD: what a prevented miss saves
    pd: np.ndarray                  # (days, n) the champion's PD
    configured: np.ndarray          # (days, n) the configured rule's action: the prior's best, else the cheapest
    engine_action: np.ndarray       # (days, n) the uplift model's best action
    engine_benefit: np.ndarray      # (days, n) its expected net benefit (not positive: no contact)
    has_unit: np.ndarray            # (days, n) an instalment falls due in the outcome window
    due: np.ndarray                 # (days, n) its epoch day
    p_none: np.ndarray              # (days, n) P(miss) without a contact (the generator's)
    p_action: np.ndarray            # (days, n, actions) P(miss) if contacted with each action
    missed_none: np.ndarray         # (days, n) realised miss without a contact
    missed_action: np.ndarray       # (days, n, actions) realised miss if contacted, under the same draws

    @property
    def days(self) -> int:
        return len(self.pd)

    @property
    def epoch0(self) -> int:
        return (self.first_day - _EPOCH).days


def _by_action(model: UpliftModel, actions: list[str]) -> np.ndarray:
    """Column of each configured action among the model's; PdeError when the model lacks one."""
    missing = [a for a in actions if a not in model.actions]
    if missing:
        raise PdeError(f"uplift model {model.version} has no estimate for {', '.join(missing)}")
    return np.array([model.actions.index(a) for a in actions])


class _Scorer:
    """A plan day's decisions for every customer, from the feature matrix."""

    def __init__(self, settings: Settings, pd_model: PDModel, uplift: UpliftModel, exposure: np.ndarray,
                 actions: list[str]) -> None:
        self.pd_model, self.uplift, self.exposure, self.lgd = pd_model, uplift, exposure, settings.costs.lgd
        self.prior = prior_model(settings)
        self.pd_cols = model_columns(pd_model)
        self.engine_order, self.prior_order = _by_action(uplift, actions), _by_action(self.prior, actions)
        self.costs = np.array([settings.actions[a].cost for a in actions])

    def __call__(self, matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(pd, configured action, engine action, engine net benefit) per customer."""
        pd = self.pd_model.predict_pd(matrix[:, self.pd_cols])
        X = uplift_inputs(dict(zip(FEATURE_NAMES, matrix.T, strict=True)), self.uplift.feature_names)
        engine = action_benefits(self.uplift.uplift(pd, X), self.exposure, self.lgd,
                                 self.uplift.costs())[:, self.engine_order]
        prior = action_benefits(self.prior.uplift(pd, None), self.exposure, self.lgd,
                                self.prior.costs())[:, self.prior_order]
        best = prior.argmax(axis=1)
        configured = np.where(prior.max(axis=1) > 0, best, int(np.argmin(self.costs)))
        choice = engine.argmax(axis=1)
        return pd, configured, choice, engine[np.arange(len(pd)), choice]


def play_world(conn: Connection, settings: Settings, days: int, pd_model: PDModel, uplift: UpliftModel,
               progress: Progress = no_progress, on_features: FeatureHook | None = None) -> World:
    """The no-contact world of `days` plan days from the bank's business date, played D + outcome window days
    so every planned unit settles; nothing is written. on_features, when given, sees each plan day's matrix."""
    ids = np.asarray(conn.execute(text("SELECT customer_id FROM customers WHERE is_active ORDER BY 1")).scalars().all(),
                     dtype=np.int64)
    if not len(ids):
        raise PdeError("the bank has no active customers to backtest on")
    last_day = conn.execute(text("SELECT last_day FROM simulation_bank")).scalar_one()
    first = last_day + timedelta(days=1)
    inputs = load_feature_inputs(conn, first, first, None, payments_due_before=_ALL_PAYMENTS)
    bank = ForwardBank(conn, settings, inputs.payments, ids)
    panel = build_panel(inputs.daily, ids, first - timedelta(days=WINDOW_DAYS), first + timedelta(days=days - 1))
    customers, accounts = inputs.customers, inputs.accounts
    del inputs  # the loaded daily rows and payments live on in the panel and the forward run's ledger
    window = bank.window
    actions = list(settings.actions)
    exposure, _ = exposure_and_due(accounts, ids, first)
    score = _Scorer(settings, pd_model, uplift, exposure, actions)
    rows = index_of(bank.customer_ids, ids)
    n, a = len(ids), len(actions)
    world = World(ids, first, window, bank.seed, actions, score.costs, exposure * settings.costs.lgd,
                  pd=np.zeros((days, n)), configured=np.zeros((days, n), np.int8),
                  engine_action=np.zeros((days, n), np.int8), engine_benefit=np.zeros((days, n)),
                  has_unit=np.zeros((days, n), bool), due=np.zeros((days, n), np.int32), p_none=np.zeros((days, n)),
                  p_action=np.zeros((days, n, a)), missed_none=np.zeros((days, n), bool),
                  missed_action=np.zeros((days, n, a), bool))
    total = days + window
    for t in range(total):
        if t < days:
            as_of = first + timedelta(days=t)
            matrix = feature_matrix(panel, as_of, customers, accounts, bank.payments.table(),
                                    grace_days=settings.simulation.grace_days)
            world.pd[t], world.configured[t], world.engine_action[t], world.engine_benefit[t] = score(matrix)
            if on_features is not None:
                on_features(t, matrix, ids)
        simulated = bank.step()
        _extend_panel(panel, simulated, rows)
        _record(world, simulated, ids)
        progress((t + 1) / total, f"simulated {simulated.day} ({t + 1} of {total} days, {days} planned)")
    return world


def _extend_panel(panel: Panel, day: ForwardDay, rows: np.ndarray) -> None:
    """Writes the simulated day's daily rows into its panel column (days past the panel are not needed)."""
    col = (day.day - panel.start).days
    if col >= panel.n_days:
        return
    for name, values in panel.columns.items():
        values[:, col] = day.daily[name].to_numpy()[rows]


def _record(world: World, day: ForwardDay, ids: np.ndarray) -> None:
    """Stores the potential outcomes settled on the day of units planned in the backtest's plan days."""
    o = day.outcomes
    t = o.eligible_on - world.epoch0
    pos = index_of(ids, o.cust)
    keep = (t >= 0) & (t < world.days) & (pos >= 0)
    t, pos = t[keep], pos[keep]
    columns = [INTERVENTION_TYPES.index(a) for a in world.actions]
    world.has_unit[t, pos] = True
    world.due[t, pos] = o.due[keep]
    world.p_none[t, pos] = np.clip(o.p_none[keep], 0.0, 1.0)
    world.p_action[t, pos] = np.clip(o.p_action[keep][:, columns], 0.0, 1.0)
    world.missed_none[t, pos] = o.missed_none[keep]
    world.missed_action[t, pos] = o.missed_action[keep][:, columns]
