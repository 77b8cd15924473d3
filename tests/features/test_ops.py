from datetime import date, timedelta

import numpy as np
import pytest

from predelinquency.features.ops import block_sums, days_since, drawdowns, masked_median, ratio, slope
from predelinquency.features.salary import days_to_pay_day
from predelinquency.features.window import Panel, window


def test_ratio_is_nan_for_a_zero_or_missing_denominator():
    np.testing.assert_array_equal(ratio(np.array([1.0, 1.0, 3.0]), np.array([0.0, np.nan, 2.0])),
                                  [np.nan, np.nan, 1.5])


@pytest.mark.parametrize("n", [3, 300])   # both the small-batch and the many-customer code paths
def test_drawdowns_match_a_plain_python_definition(n: int):
    rng = np.random.default_rng(n)
    y = np.asfortranarray(rng.normal(0, 100, (n, 40)).cumsum(axis=1))
    fall, share = drawdowns(y)
    for i in range(n):
        peaks = np.maximum.accumulate(y[i])
        assert fall[i] == pytest.approx((peaks - y[i]).max())
        rel = [(p - v) / p for p, v in zip(peaks, y[i], strict=True) if p > 0]
        expected = max(rel) if peaks[-1] > 0 else np.nan
        assert share[i] == pytest.approx(expected, nan_ok=True)


def test_masked_median_slope_block_sums_and_days_since():
    values = np.array([1.0, 5.0, 3.0, 9.0])
    mask = np.array([[True, True, True, False], [False, False, False, False], [True, False, False, True]])
    np.testing.assert_array_equal(masked_median(values, mask), [3.0, np.nan, 5.0])
    np.testing.assert_allclose(slope(np.array([[0.0, 2.0, 4.0, 6.0]])), [2.0])
    # blocks end at as_of: days 1-9 in threes, day 0 left out
    np.testing.assert_array_equal(block_sums(np.arange(10.0)[None, :], 3), [[6.0, 15.0, 24.0]])
    np.testing.assert_array_equal(days_since(np.array([[True, False, False], [False, False, False]])), [3, np.nan])


def test_days_to_pay_day_counts_to_the_next_occurrence_across_month_ends():
    as_of = date(2026, 3, 1)
    panel = Panel(customer_ids=np.array([1, 2]), start=as_of - timedelta(days=90),
                  columns={"salary_in": np.zeros((2, 90), np.float32)})
    win = window(panel, as_of)
    got = days_to_pay_day(win, np.array([2.0, np.nan]))
    days = [as_of - timedelta(days=90 - i) for i in range(90)]
    for i, d in enumerate(days):
        nxt = next(d + timedelta(days=k) for k in range(40) if (d + timedelta(days=k)).day == 2)
        assert got[0, i] == (nxt - d).days
    assert np.isnan(got[1]).all()
