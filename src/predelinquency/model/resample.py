"""SMOTE oversampling of the defaulters on the encoded matrix, keeping missing values and categories intact.

imbalanced-learn's SMOTE cannot take NaN, and interpolating category codes is meaningless. So: numeric NaN are
imputed with the median for the neighbour search and flagged by indicator columns; categories, 0/1 flags and
indicators are categorical for SMOTENC (synthetic rows take the neighbours' majority); synthetic values whose
indicator says "missing" become NaN again.
"""

from __future__ import annotations

import numpy as np

# oversample defaulters to 1 per 2 non-defaulters: enough signal, not a dataset twice the size
TARGET_RATIO = 0.5
K_NEIGHBOURS = 5


def smote(X: np.ndarray, y: np.ndarray, cat_index: list[int], seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The original rows followed by synthetic defaulters (label 1); unchanged when there is too little to do."""
    from imblearn.over_sampling import SMOTE, SMOTENC, RandomOverSampler

    n_pos = int(y.sum())
    n_neg = len(y) - n_pos
    if n_pos < 2 or n_neg == 0 or n_pos / n_neg >= TARGET_RATIO:
        return X, y
    n, p = X.shape
    cats = set(cat_index)
    # 0/1 flags are categories too: an interpolated 0.4 "has gambling transfers" means nothing
    for j in range(p):
        col = X[:, j]
        if j not in cats and np.isin(col[~np.isnan(col)], (0.0, 1.0)).all():
            cats.add(j)
    cat_index = sorted(cats)
    numeric = [j for j in range(p) if j not in cats]
    with_nan = [j for j in numeric if np.isnan(X[:, j]).any()]

    Z = X.copy()
    for j in numeric:
        col = Z[:, j]
        fill = np.nanmedian(col) if not np.isnan(col).all() else 0.0
        col[np.isnan(col)] = fill
    for j in cat_index:
        Z[np.isnan(Z[:, j]), j] = -1  # missing category is a category of its own
    indicators = np.isnan(X[:, with_nan]).astype(np.float64)
    Z = np.hstack([Z, indicators])
    categorical = cat_index + list(range(p, p + len(with_nan)))

    k = min(K_NEIGHBOURS, n_pos - 1)
    if not numeric:
        sampler = RandomOverSampler(sampling_strategy=TARGET_RATIO, random_state=seed)
    elif categorical:
        sampler = SMOTENC(categorical_features=categorical, sampling_strategy=TARGET_RATIO, k_neighbors=k,
                          random_state=seed)
    else:
        sampler = SMOTE(sampling_strategy=TARGET_RATIO, k_neighbors=k, random_state=seed)
    Z_res, y_res = sampler.fit_resample(Z, y)

    # imbalanced-learn appends the synthetic rows after the originals
    synth = Z_res[n:, :p].copy()
    flags = Z_res[n:, p:]
    for i, j in enumerate(with_nan):
        synth[flags[:, i] >= 0.5, j] = np.nan
    for j in cat_index:
        synth[synth[:, j] < 0, j] = np.nan
    return np.vstack([X, synth]), np.concatenate([y, np.asarray(y_res[n:], dtype=y.dtype)])
