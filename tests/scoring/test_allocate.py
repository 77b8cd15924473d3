"""The plan's walk (scoring/allocate.py): permuted-block holdout, exploration, capacities; pure, no database."""

from __future__ import annotations

from collections import Counter
from datetime import date, timedelta

import numpy as np
import pytest

from predelinquency.scoring.allocate import Limits, allocate, block_size, draw_holdout

DAY = date(2026, 11, 1)
ACTIONS = ["soft_reminder", "agent_call", "restructuring_offer"]
CHANNELS = {"soft_reminder": "sms", "agent_call": "phone", "restructuring_offer": "phone"}


@pytest.mark.parametrize(("share", "block"), [(0.1, (10, 1)), (0.3, (10, 3)), (0.25, (4, 1)), (0.15, (20, 3)),
                                              (0.0, (1, 0)), (0.5, (2, 1)), (0.123456, (100, 12))])
def test_blocks_hold_out_a_whole_share(share: float, block: tuple[int, int]):
    assert block_size(share) == block


def test_each_whole_block_of_a_stratum_holds_out_exactly_its_share():
    strata = ["reminder|Medium"] * 97 + ["call|High"] * 41 + ["offer|Critical"] * 13 + ["call|Critical"] * 1
    rng = np.random.default_rng(3)
    strata = [strata[i] for i in rng.permutation(len(strata))]  # interleaved, as a ranking mixes them
    for day in range(20):
        held = draw_holdout(strata, 0.1, DAY + timedelta(days=day))
        for name in set(strata):
            members = held[[s == name for s in strata]]
            for start in range(0, len(members) - len(members) % 10, 10):
                assert members[start:start + 10].sum() == 1, (name, start)
            assert members[len(members) - len(members) % 10:].sum() <= 1
    assert not draw_holdout(strata, 0.0, DAY).any()


def test_the_draw_is_reproducible_independent_of_later_rows_and_changes_with_the_day():
    strata = [f"s{i % 3}" for i in range(300)]
    today = draw_holdout(strata, 0.3, DAY)
    assert np.array_equal(today, draw_holdout(strata, 0.3, DAY))
    assert np.array_equal(today[:137], draw_holdout(strata[:137], 0.3, DAY))  # a member's arm ignores who follows
    assert not np.array_equal(today, draw_holdout(strata, 0.3, DAY + timedelta(days=1)))
    # the positions held out differ between blocks and strata (not one fixed pattern)
    patterns = {tuple(np.flatnonzero(today[i::3][b * 10:(b + 1) * 10])) for i in range(3) for b in range(10)}
    assert len(patterns) > 10


def _population(n: int, seed: int = 1) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    benefit = rng.normal(20, 30, size=(n, len(ACTIONS)))
    benefit[:, 0] = np.abs(benefit[:, 0]) + 1  # every customer has a positive action
    order = np.argsort(-benefit.max(axis=1), kind="stable")
    return np.arange(1000, 1000 + n)[order], rng.choice(["High", "Medium"], n)[order], benefit[order]


def test_exploration_is_about_its_share_reproducible_and_uniform_over_actions():
    ids, tiers, benefit = _population(6000)
    limits = Limits(10_000, 0.1, 0.15, CHANNELS)
    a = allocate(ids, tiers, benefit, ACTIONS, limits, DAY)
    assert len(a.index) == 6000 and a.contacted == 6000 - a.held.sum()
    assert 0.135 < a.explored.mean() < 0.165
    assert min(Counter(a.action[a.explored].tolist()).values()) > 0.28 * a.explored.sum()
    # policy rows take the best action
    policy = ~a.explored
    assert np.array_equal(a.action[policy], benefit[a.index[policy]].argmax(axis=1))
    again = allocate(ids, tiers, benefit, ACTIONS, limits, DAY)
    assert np.array_equal(a.explored, again.explored) and np.array_equal(a.held, again.held)
    assert not np.array_equal(a.explored, allocate(ids, tiers, benefit, ACTIONS, limits, DAY + timedelta(1)).explored)
    # a customer's draw is theirs: the same customer explores the same way in a smaller population
    part = allocate(ids[::2], tiers[::2], benefit[::2], ACTIONS, limits, DAY)
    assert np.array_equal(part.explored, a.explored[::2])
    assert not allocate(ids, tiers, benefit, ACTIONS, Limits(10_000, 0.1, 0.0, CHANNELS), DAY).explored.any()


def test_the_walk_stops_at_capacity_and_respects_each_channel():
    ids, tiers, benefit = _population(500)
    a = allocate(ids, tiers, benefit, ACTIONS, Limits(50, 0.2, 0.15, CHANNELS, {"phone": 12}), DAY)
    assert a.contacted == 50 and not a.held[-1]
    channels = Counter(CHANNELS[ACTIONS[x]] for x, h in zip(a.action, a.held, strict=True) if not h)
    assert channels["phone"] == 12 and channels["sms"] == 38
    assert np.array_equal(a.index, np.sort(a.index))  # in ranking order
    # a channel of capacity 0 is never used; customers with no positive action left are skipped
    b = allocate(ids, tiers, benefit, ACTIONS, Limits(50, 0.0, 0.0, CHANNELS, {"sms": 0}), DAY)
    assert all(CHANNELS[ACTIONS[x]] == "phone" for x in b.action)
    assert (benefit[b.index, b.action] > 0).all() and b.contacted == 50
    assert not len(allocate(ids, tiers, benefit, ACTIONS, Limits(0, 0.1, 0.1, CHANNELS), DAY).index)
