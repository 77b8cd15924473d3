"""A chunk's simulation state between days: what `pde generate` ends in and `advance_day` continues from.

Customers and their hidden traits, the latent stress process, end-of-day balances, money movements already
scheduled for later days, and the hidden contact bookkeeping (active effects, eligibilities awaiting their
instalment). Serialised with numpy's npz (never pickle) into simulation_state.state.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, fields

import numpy as np

from predelinquency.simulate.chunk import Chunk
from predelinquency.simulate.customers import Customers
from predelinquency.simulate.events import Events
from predelinquency.simulate.stress import StressState
from predelinquency.simulate.timeline import Timeline

TRAITS_KEY = 7_001   # spawn key of the hidden-trait stream: (TRAITS_KEY, chunk index)
N_ACTIONS = 5        # predelinquency.domain.vocabulary.INTERVENTION_TYPES


@dataclass
class Traits:
    """Hidden per-customer traits that shape how contacts work (never features)."""

    inattentive: np.ndarray     # bool: has the money but forgets due dates
    engagement: np.ndarray      # multiplier of the response probability; 0 = ignores every contact


def draw_traits(seed: int, index: int, n: int) -> Traits:
    """The chunk's hidden traits, from their own stream (the generator's other draws are untouched)."""
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(TRAITS_KEY, index)))
    inattentive = rng.random(n) < 0.3
    ignores = rng.random(n) < 0.15
    engagement = np.where(ignores, 0.0, rng.beta(5, 3, n) / 0.625)
    return Traits(inattentive, engagement)


@dataclass
class Active:
    """Contacts the customer responded to: each lowers the miss log-odds of instalments due in
    (made_on, made_on + window]."""

    cust: np.ndarray            # local index
    made_on: np.ndarray         # epoch day
    lift: np.ndarray

    @staticmethod
    def empty() -> Active:
        return Active(np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0))

    def where(self, mask: np.ndarray) -> Active:
        return Active(self.cust[mask], self.made_on[mask], self.lift[mask])

    @staticmethod
    def concat(parts: list[Active]) -> Active:
        return Active(*(np.concatenate([getattr(p, f.name) for p in parts]) for f in fields(Active)))


@dataclass
class Pending:
    """Eligibilities awaiting the settlement of their instalment: the potential outcomes' inputs."""

    cust: np.ndarray            # local index
    eligible_on: np.ndarray     # epoch day
    due: np.ndarray             # epoch day of the next instalment due in (eligible_on, + window]
    respond: np.ndarray         # (k, actions) probability of responding to each action
    lift: np.ndarray            # (k, actions) lift if responding, from the hidden state on eligible_on
    draw: np.ndarray            # the response uniform (responds to action a when draw < respond[:, a])

    @staticmethod
    def empty() -> Pending:
        z = np.zeros(0, np.int64)
        return Pending(z, z.copy(), z.copy(), np.zeros((0, N_ACTIONS)), np.zeros((0, N_ACTIONS)), np.zeros(0))

    def where(self, mask: np.ndarray) -> Pending:
        return Pending(*(getattr(self, f.name)[mask] for f in fields(Pending)))

    @staticmethod
    def concat(parts: list[Pending]) -> Pending:
        return Pending(*(np.concatenate([getattr(p, f.name) for p in parts]) for f in fields(Pending)))


@dataclass
class SimState:
    """Everything needed to simulate the chunk's next day deterministically."""

    day: int                    # epoch day of the last simulated day
    customers: Customers
    traits: Traits
    stress: StressState
    balance: np.ndarray         # current account at the end of `day`, cents
    savings: np.ndarray
    others_rate: np.ndarray     # transactions a day other than everyday spending (recent average)
    carry: Events               # scheduled movements; day is an epoch day > `day`, sec drawn on the day
    active: Active
    pending: Pending

    _PARTS = (("c", "customers"), ("t", "traits"), ("s", "stress"), ("e", "carry"), ("a", "active"),
              ("p", "pending"))

    def to_bytes(self) -> bytes:
        """npz bytes of every array (no pickled objects)."""
        arrays: dict[str, np.ndarray] = {"day": np.array(self.day), "balance": self.balance,
                                         "savings": self.savings, "others_rate": self.others_rate}
        for prefix, name in self._PARTS:
            part = getattr(self, name)
            for f in fields(part):
                arrays[f"{prefix}.{f.name}"] = np.asarray(getattr(part, f.name))
        buf = io.BytesIO()
        np.savez(buf, **arrays)
        return buf.getvalue()

    @staticmethod
    def from_bytes(data: bytes) -> SimState:
        """The state to_bytes wrote."""
        with np.load(io.BytesIO(data), allow_pickle=False) as z:
            a = {k: z[k] for k in z.files}
        kinds = {"customers": Customers, "traits": Traits, "stress": StressState, "carry": Events,
                 "active": Active, "pending": Pending}
        parts = {name: kinds[name](**{f.name: a[f"{prefix}.{f.name}"] for f in fields(kinds[name])})
                 for prefix, name in SimState._PARTS}
        return SimState(day=int(a["day"]), balance=a["balance"], savings=a["savings"], others_rate=a["others_rate"],
                        **parts)


def chunk_state(ch: Chunk, seed: int, index: int, tl: Timeline) -> SimState:
    """The state a generated chunk ends in on the timeline's last day."""
    if ch.paths.end is None:
        raise ValueError("the chunk's stress paths carry no end state")
    carry = ch.carry
    carry = Events(carry.cust, (carry.day.astype(np.int64) + tl.epoch_day0).astype(np.int32), carry.sec,
                   carry.cents, carry.cat, carry.chan, carry.failed)
    return SimState(day=tl.epoch_day0 + tl.days - 1, customers=ch.customers,
                    traits=draw_traits(seed, index, ch.customers.n), stress=ch.paths.end,
                    balance=ch.ledger.balance[:, -1].copy(), savings=ch.ledger.savings[:, -1].copy(),
                    others_rate=ch.others_rate, carry=carry, active=Active.empty(), pending=Pending.empty())
