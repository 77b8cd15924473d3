import math

import numpy as np
import pytest

from predelinquency.domain.scale import pd_to_score, pd_to_tier, score_to_band, score_to_pd
from predelinquency.settings import Scoring

S = Scoring()  # base 600 at 50:1 good:bad, 40 points to double the odds, 300–900


def test_base_odds_and_doubling():
    pd_at_base = 1 / (1 + S.base_odds)  # odds_good = 50
    assert pd_to_score(pd_at_base, S) == 600
    pd_double = 1 / (1 + 2 * S.base_odds)  # odds doubled: +40 points
    assert pd_to_score(pd_double, S) == 640
    assert pd_to_score(1 / (1 + S.base_odds / 2), S) == 560
    raw = 600 + 40 / math.log(2) * math.log((1 - 0.1) / 0.1 / 50)
    assert pd_to_score(0.1, S) == round(raw)


def test_scores_fall_as_pd_rises_and_stay_within_bounds():
    pd_ = np.linspace(0, 1, 10_001)
    score = pd_to_score(pd_, S)
    assert score.dtype.kind == "i"
    assert np.all(np.diff(score) <= 0)
    assert score[0] == 900 and score[-1] == 300  # PD 0 and 1 are clipped, not infinite
    assert score.min() >= 300 and score.max() <= 900
    assert np.allclose(score_to_pd(pd_to_score([0.02, 0.2], S), S), [0.02, 0.2], rtol=0.02)


def test_rating_bands_at_their_lower_bounds():
    scores = np.array([900, 780, 779, 720, 719, 660, 600, 599, 540, 539, 300, 250])
    assert score_to_band(scores, S).tolist() == ["A", "A", "B", "B", "C", "C", "D", "E", "E", "F", "F", "F"]


@pytest.mark.parametrize(("pd_", "tier"), [(0.0, "Low"), (0.0499, "Low"), (0.05, "Medium"), (0.1499, "Medium"),
                                            (0.15, "High"), (0.35, "Critical"), (1.0, "Critical")])
def test_tier_boundaries(pd_, tier):
    assert pd_to_tier([pd_], S)[0] == tier


def test_tiers_never_fall_as_pd_rises():
    order = {"Low": 0, "Medium": 1, "High": 2, "Critical": 3}
    tiers = pd_to_tier(np.linspace(0, 1, 1001), S)
    assert np.all(np.diff([order[t] for t in tiers]) >= 0)
