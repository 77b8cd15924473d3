"""Walking a ranked population into today's plan: each customer's action and arm, until the team's capacity.

Pure: arrays in, the plan's rows out, every random draw reproducible from the business date. For each customer,
best expected net benefit first:
- the action: with probability `exploration_share` (a draw of its own stream, keyed by the business date and the
  customer) a uniformly random configured action ('explore'), else the best positive one ('policy'); when that
  action's channel is at its capacity, the next-best positive action with room, else the customer is skipped;
- the arm: permuted blocks within the stratum action|tier. In each block of a stratum's members, positions drawn
  from the business date, the stratum and the block are held out, so every whole block holds out exactly
  `holdout_share` of it and a member's arm never depends on who comes after;
- held-out rows take no capacity; the walk stops when the contacted reach the daily capacity.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field
from datetime import date

import numpy as np

_HOLDOUT_STREAM = 0x484F4C44  # "HOLD"
_EXPLORE_STREAM = 0x4558504C  # "EXPL": its own stream, so exploring never shifts the holdout draws
MAX_BLOCK = 100  # a share that no block up to this size holds out a whole number of uses this size, rounded


@dataclass(frozen=True)
class Limits:
    """What bounds a day's plan: the team's capacity, per channel too, and the random shares."""

    capacity: int
    holdout_share: float
    exploration_share: float
    channels: dict[str, str]                 # action -> the channel it is made through
    channel_capacity: dict[str, int] = field(default_factory=dict)  # a channel not named: only `capacity`


@dataclass(frozen=True)
class Allocation:
    """The plan's rows in plan order: positions in the ranked population, action columns, arms, how chosen."""

    index: np.ndarray      # (m,) position of each row's customer in the ranked population
    action: np.ndarray     # (m,) column of the row's action
    held: np.ndarray       # (m,) bool: held out (never contacted)
    explored: np.ndarray   # (m,) bool: the action was drawn at random

    @property
    def contacted(self) -> int:
        return int((~self.held).sum())


def block_size(share: float) -> tuple[int, int]:
    """(members per block, held out per block): the smallest block of which `share` is a whole number."""
    if share <= 0:
        return 1, 0
    for size in range(1, MAX_BLOCK + 1):
        if abs(share * size - round(share * size)) < 1e-9:
            return size, round(share * size)
    return MAX_BLOCK, round(share * MAX_BLOCK)


class PermutedBlocks:
    """The arm of each next member of a stratum, by permuted blocks drawn from the business date and stratum."""

    def __init__(self, share: float, business_date: date) -> None:
        self.size, self.held_per_block = block_size(share)
        self.day = business_date.toordinal()
        self.seen: dict[str, int] = {}
        self.blocks: dict[tuple[str, int], frozenset[int]] = {}

    def next_held(self, stratum: str) -> bool:
        """Whether the stratum's next member is held out."""
        position = self.seen.get(stratum, 0)
        self.seen[stratum] = position + 1
        if not self.held_per_block:
            return False
        block, at = divmod(position, self.size)
        held = self.blocks.get((stratum, block))
        if held is None:
            # crc32, not hash(): the same stratum must give the same draw in every process
            seed = np.random.SeedSequence([_HOLDOUT_STREAM, self.day, zlib.crc32(stratum.encode()), block])
            held = frozenset(np.random.default_rng(seed).permutation(self.size)[:self.held_per_block].tolist())
            self.blocks[(stratum, block)] = held
        return at in held


def draw_holdout(strata: list[str], share: float, business_date: date) -> np.ndarray:
    """Which members of a ranked population are held out: permuted blocks within each stratum, in order."""
    blocks = PermutedBlocks(share, business_date)
    return np.array([blocks.next_held(s) for s in strata], dtype=bool)


def exploration_draw(customer_id: int, business_date: date, n_actions: int) -> tuple[float, int]:
    """(uniform draw, random action column) of one customer on a business date: explored when the draw is below
    the exploration share."""
    rng = np.random.default_rng(np.random.SeedSequence([_EXPLORE_STREAM, business_date.toordinal(), customer_id]))
    return float(rng.random()), int(rng.integers(n_actions))


def allocate(customer_ids: np.ndarray, tiers: np.ndarray, benefit: np.ndarray, actions: list[str], limits: Limits,
             business_date: date) -> Allocation:
    """The plan's rows for a population ranked best first; benefit: (n, actions) expected net benefit."""
    blocks = PermutedBlocks(limits.holdout_share, business_date)
    used = dict.fromkeys(limits.channel_capacity, 0)
    rows: list[tuple[int, int, bool, bool]] = []
    contacted = 0
    order = np.argsort(-benefit, axis=1, kind="stable")  # each customer's actions, best first
    for i in range(len(customer_ids)):
        if contacted >= limits.capacity:
            break
        positive = [int(a) for a in order[i] if benefit[i, a] > 0]
        if not positive:
            continue
        candidates, random_action = positive, -1
        if limits.exploration_share > 0:
            u, random_action = exploration_draw(int(customer_ids[i]), business_date, len(actions))
            if u < limits.exploration_share:
                candidates = [random_action] + [a for a in positive if a != random_action]
        pick = next((a for a in candidates if _has_room(actions[a], limits, used)), None)
        if pick is None:
            continue
        held = blocks.next_held(f"{actions[pick]}|{tiers[i]}")
        if not held:
            contacted += 1
            channel = limits.channels[actions[pick]]
            if channel in used:
                used[channel] += 1
        rows.append((i, pick, held, pick == random_action and candidates is not positive))
    index, action, held, explored = (np.array(c) for c in zip(*rows, strict=True)) if rows else (
        np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, bool), np.zeros(0, bool))
    return Allocation(index.astype(np.int64), action.astype(np.int64), held.astype(bool), explored.astype(bool))


def _has_room(action: str, limits: Limits, used: dict[str, int]) -> bool:
    channel = limits.channels[action]
    return channel not in used or used[channel] < limits.channel_capacity[channel]
