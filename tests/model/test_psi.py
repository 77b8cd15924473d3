import numpy as np
import pytest

from predelinquency.model.psi import baseline_bins, psi, psi_band, psi_of_fractions, share_per_bin


def test_identical_distribution_is_stable_and_a_shift_is_not():
    rng = np.random.default_rng(0)
    base = baseline_bins(rng.normal(size=20_000))
    assert len(base["edges"]) == 9 and len(base["fractions"]) == 11
    assert base["fractions"][-1] == 0 and sum(base["fractions"]) == pytest.approx(1)
    assert psi(base, rng.normal(size=20_000)) < 0.01
    assert psi_band(psi(base, rng.normal(0.45, size=20_000))) == "watch"
    assert psi_band(psi(base, rng.normal(1.0, size=20_000))) == "retrain"


def test_missing_values_have_their_own_bin():
    rng = np.random.default_rng(1)
    values = np.where(rng.random(10_000) < 0.2, np.nan, rng.normal(size=10_000))
    base = baseline_bins(values)
    assert base["fractions"][-1] == pytest.approx(0.2, abs=0.02)
    assert psi(base, values) == pytest.approx(0)
    assert psi(base, np.where(rng.random(10_000) < 0.6, np.nan, rng.normal(size=10_000))) > 0.25


def test_constant_and_discrete_columns():
    const = baseline_bins(np.full(100, 3.0))
    assert const == {"edges": [], "fractions": [1.0, 0.0]}
    assert psi(const, [3.0, 3.0]) == 0
    discrete = baseline_bins([0, 0, 0, 0, 0, 0, 1, 2, 3, 4])
    assert discrete["edges"] == [0, 1, 2, 3] and discrete["fractions"][0] == pytest.approx(0.6)
    assert baseline_bins([np.nan, np.nan]) == {"edges": [], "fractions": [0.0, 1.0]}


def test_psi_by_hand_and_from_shards():
    base = {"edges": [0.5], "fractions": [0.5, 0.5, 0.0]}
    expected = (0.8 - 0.5) * np.log(0.8 / 0.5) + (0.2 - 0.5) * np.log(0.2 / 0.5)
    assert psi(base, [0, 0, 0, 0, 1]) == pytest.approx(expected)
    shards = [np.array([0, 0, 1]), np.array([0, 0])]
    pooled = sum(share_per_bin(s, base["edges"]) * len(s) for s in shards) / 5
    assert psi_of_fractions(base["fractions"], pooled) == pytest.approx(expected)


@pytest.mark.parametrize(("value", "band"), [(0.0, "stable"), (0.0999, "stable"), (0.1, "watch"), (0.25, "watch"),
                                              (0.2501, "retrain")])
def test_bands(value, band):
    assert psi_band(value) == band
