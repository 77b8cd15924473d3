"""PD → credit score (points to double the odds), rating band and risk tier; vectorised numpy."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from predelinquency.domain.vocabulary import TIERS

if TYPE_CHECKING:  # settings sit above the domain layer
    from predelinquency.settings import Scoring

# PDs of exactly 0 or 1 (isotonic calibration can produce them) would give infinite odds
_PD_EPS = 1e-12


def pd_to_score(pd: npt.ArrayLike, scoring: Scoring) -> np.ndarray:
    """Integer scores in [min_score, max_score]; higher means safer (base_score at base_odds good:bad)."""
    p = np.clip(np.asarray(pd, dtype=np.float64), _PD_EPS, 1 - _PD_EPS)
    odds_good = (1 - p) / p
    factor = scoring.points_to_double_odds / math.log(2)
    raw = scoring.base_score + factor * np.log(odds_good / scoring.base_odds)
    return np.clip(np.rint(raw), scoring.min_score, scoring.max_score).astype(np.int64)


def score_to_pd(score: npt.ArrayLike, scoring: Scoring) -> np.ndarray:
    """The PD a score stands for (the inverse of pd_to_score before rounding and clipping)."""
    s = np.asarray(score, dtype=np.float64)
    factor = scoring.points_to_double_odds / math.log(2)
    odds_good = scoring.base_odds * np.exp((s - scoring.base_score) / factor)
    return 1 / (1 + odds_good)


def score_to_band(score: npt.ArrayLike, scoring: Scoring) -> np.ndarray:
    """Rating band per score: the band with the highest lower bound the score reaches (lowest band below all)."""
    s = np.asarray(score, dtype=np.float64)
    bands = sorted(scoring.rating_bands.items(), key=lambda kv: kv[1])  # worst (lowest bound) first
    names = np.array([name for name, _ in bands], dtype=object)
    bounds = np.array([bound for _, bound in bands], dtype=np.float64)
    # index of the last bound <= score; scores under every bound fall into the worst band
    idx = np.clip(np.searchsorted(bounds, s, side="right") - 1, 0, len(bounds) - 1)
    return names[idx]


def pd_to_tier(pd: npt.ArrayLike, scoring: Scoring) -> np.ndarray:
    """Tier per PD: Low, Medium, High or Critical — the highest tier whose PD lower bound is reached."""
    p = np.asarray(pd, dtype=np.float64)
    t = scoring.tiers
    bounds = np.array([t["medium"], t["high"], t["critical"]])
    idx = np.searchsorted(bounds, p, side="right")  # 0 = below medium, 3 = at or above critical
    return np.array(TIERS, dtype=object)[idx]
