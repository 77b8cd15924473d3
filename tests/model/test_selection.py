import numpy as np
import pandas as pd

from predelinquency.model.selection import select_features
from tests.support.synthetic import make_table


def _with_noise(n: int, extra: int, seed: int = 3) -> tuple[pd.DataFrame, np.ndarray]:
    X, y, _ = make_table(n, seed=seed)
    rng = np.random.default_rng(seed)
    noise = pd.DataFrame(rng.normal(size=(n, extra)), columns=[f"noise_{i}" for i in range(extra)])
    return pd.concat([noise.iloc[:, : extra // 2], X, noise.iloc[:, extra // 2:]], axis=1), y


def test_keeps_the_informative_columns_in_their_original_order():
    X, y = _with_noise(4000, 30)
    kept, info = select_features(X.iloc[:3000], y[:3000], X.iloc[3000:], y[3000:], max_features=6)
    assert {"a", "b", "product"} <= set(kept) and len(kept) == 6
    assert kept == [c for c in X.columns if c in kept]
    assert info["method"] == "lightgbm gain" and info["from"] == X.shape[1] and info["kept"] == 6


def test_a_table_within_the_limit_or_a_zero_limit_is_left_alone():
    X, y = _with_noise(1000, 4)
    assert select_features(X, y, X, y, max_features=50)[0] == list(X.columns)
    kept, info = select_features(X, y, X, y, max_features=0)
    assert kept == list(X.columns) and info["method"] == "none"
