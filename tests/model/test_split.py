import datetime as dt

import numpy as np
import pytest

from predelinquency.errors import PdeError
from predelinquency.model.split import (
    expanding_window_folds,
    out_of_time_split,
    random_split,
    stratified_folds,
    time_periods,
)
from tests.support.synthetic import make_table


def test_out_of_time_test_is_strictly_newest_and_disjoint():
    _, _, groups = make_table(2000, weeks=12)
    sp = out_of_time_split(groups, oot=2, validation=2)
    assert len(set(sp.train) | set(sp.validation) | set(sp.test)) == len(groups)
    assert not set(sp.train) & set(sp.test) and not set(sp.validation) & set(sp.test)
    assert not set(sp.train) & set(sp.validation)
    assert groups[sp.train].max() < groups[sp.validation].min()
    assert groups[sp.validation].max() < groups[sp.test].min()
    newest = sorted(set(groups))[-2:]
    assert set(groups[sp.test]) == set(newest)
    assert sp.groups["test"] == [str(d) for d in newest]


def test_with_customers_the_validation_is_a_share_of_them_over_the_development_period():
    # 12 snapshots of 500 customers; labels look 3 snapshots ahead, so 3 are dropped before the test
    groups = np.repeat(np.arange(12), 500)
    customers = np.tile(np.arange(1, 501), 12)
    sp = out_of_time_split(groups, oot=2, validation=2, gap=3, validation_gap=0, entities=customers)
    assert set(groups[sp.test]) == {10, 11}
    assert set(groups[sp.train]) == set(groups[sp.validation]) == set(range(7))  # 3 dropped before the test
    val_customers, train_customers = set(customers[sp.validation]), set(customers[sp.train])
    assert not val_customers & train_customers and len(val_customers | train_customers) == 500
    assert 60 < len(val_customers) < 140  # about a fifth
    # time-ordered CV folds: the validating customers stay out of the snapshots whose labels reach into them
    dev = np.concatenate([sp.train, sp.validation])
    for tr, va in expanding_window_folds(groups[dev], 3, 0, 3, customers[dev]):
        start = groups[dev][va].min()
        overlap = tr[groups[dev][tr] >= start - 3]
        assert not set(customers[dev][overlap]) & set(customers[dev][va])
    with pytest.raises(PdeError, match="at least 7 distinct time periods"):
        out_of_time_split(groups[groups < 6], oot=2, validation=2, gap=3, entities=customers[groups < 6])


def test_gap_drops_the_groups_whose_labels_reach_into_the_next_window():
    _, _, groups = make_table(2000, weeks=12)
    sp = out_of_time_split(groups, oot=2, validation=2, gap=1)
    weeks = sorted(set(groups))
    assert groups[sp.train].max() == weeks[-7]  # 2 test, 1 gap, 2 validation, 1 gap
    assert set(groups[sp.validation]) == set(weeks[-5:-3])
    used = len(sp.train) + len(sp.validation) + len(sp.test)
    assert used == len(groups) - int(np.isin(groups, [weeks[-6], weeks[-3]]).sum())


def test_too_few_time_groups_is_a_clear_error():
    groups = np.array([dt.date(2026, 1, 1), dt.date(2026, 1, 8)] * 10)
    with pytest.raises(PdeError, match="at least 5 distinct time periods"):
        out_of_time_split(groups, oot=2, validation=2)


def test_random_split_is_stratified_and_disjoint():
    _, y, _ = make_table(2000)
    sp = random_split(y, validation=0.2, test=0.2, seed=1)
    assert sorted(np.concatenate([sp.train, sp.validation, sp.test]).tolist()) == list(range(len(y)))
    assert len(sp.test) == 400 and len(sp.validation) == 400
    for part in (sp.train, sp.validation, sp.test):
        assert abs(y[part].mean() - y.mean()) < 0.01


def test_time_periods_keep_ties_together_and_follow_time():
    times = np.repeat(np.arange(50), np.arange(1, 51))  # later times have more rows
    period = time_periods(times, n_periods=10)
    for t in np.unique(times):
        assert len(set(period[times == t])) == 1
    order = np.argsort(times, kind="stable")
    assert np.all(np.diff(period[order]) >= 0)
    assert period.max() == 9
    assert np.array_equal(time_periods(np.array([3, 1, 2]), 10), [2, 0, 1])


def test_expanding_window_folds_train_only_on_the_past():
    _, _, groups = make_table(2000, weeks=12)
    folds = expanding_window_folds(groups, n_folds=4)
    assert len(folds) == 4
    previous = 0
    for tr, va in folds:
        assert groups[tr].max() < groups[va].min()
        assert len(tr) > previous  # the window expands
        previous = len(tr)


def test_stratified_folds_cover_every_row_once():
    _, y, _ = make_table(500)
    folds = stratified_folds(y, 5)
    assert sorted(np.concatenate([va for _, va in folds]).tolist()) == list(range(500))
