"""Feature table → one float matrix: numbers as they are (NaN kept), categories as ordinal codes (unknown → NaN).

All the learners read this matrix (CatBoost decodes its categorical columns back to strings, see
learners/catboost.py). An unseen category is treated as missing by every learner alike.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

import numpy as np
import pandas as pd
import polars as pl

from predelinquency.errors import PdeError

# an ndarray is a matrix already in the encoder's column order (numeric models only): what scoring passes
Table = pd.DataFrame | pl.DataFrame | Mapping[str, Any] | np.ndarray


def to_pandas(X: Table) -> pd.DataFrame:
    """A pandas view of a polars/pandas frame or of one row given as a mapping."""
    if isinstance(X, pd.DataFrame):
        return X
    if isinstance(X, pl.DataFrame):
        return X.to_pandas()
    if isinstance(X, Mapping):
        return pd.DataFrame({k: [v] for k, v in X.items()})
    raise TypeError(f"expected a pandas or polars DataFrame, got {type(X).__name__}")


def _is_numeric(s: pd.Series) -> bool:
    """True for numeric, boolean and datetime columns (all become floats); False for strings/categories."""
    if pd.api.types.is_numeric_dtype(s) or pd.api.types.is_bool_dtype(s) or pd.api.types.is_datetime64_any_dtype(s):
        return True
    # a nullable boolean column arrives from polars as object dtype holding True/False/None
    return pd.api.types.infer_dtype(s, skipna=True) == "boolean"


def _numeric_values(s: pd.Series, name: str) -> np.ndarray:
    """The column as float64; a value that is not a number is an error naming the column and row."""
    if pd.api.types.is_datetime64_any_dtype(s):
        # days since the epoch: trees only need the order
        days = (s - pd.Timestamp(0, tz=s.dt.tz)) / pd.Timedelta(days=1)
        return days.to_numpy(dtype=np.float64, na_value=np.nan)
    if pd.api.types.is_bool_dtype(s) or pd.api.types.infer_dtype(s, skipna=True) == "boolean":
        return s.astype("boolean").astype("Float64").to_numpy(dtype=np.float64, na_value=np.nan)
    if pd.api.types.is_numeric_dtype(s):
        return s.astype("float64").to_numpy(dtype=np.float64, na_value=np.nan)
    coerced = pd.to_numeric(s, errors="coerce")
    bad = coerced.isna() & s.notna()
    if bad.any():
        first = int(np.flatnonzero(bad.to_numpy())[0])
        raise PdeError(f"column `{name}` must be numeric: {int(bad.sum())} non-numeric value(s), "
                       f"first {s.iloc[first]!r} at row {first + 1}")
    return coerced.astype("float64").to_numpy(dtype=np.float64, na_value=np.nan)


class TableEncoder:
    """Remembers the feature columns, which are categorical, and each category's code."""

    def fit(self, X: Table) -> TableEncoder:
        """Learns columns and categories from the training table; returns self."""
        df = to_pandas(X)
        self.feature_names_: list[str] = [str(c) for c in df.columns]
        self.categorical_: list[str] = [str(c) for c in df.columns if not _is_numeric(df[c])]
        # sorted, not target-ordered: the code order must not depend on the labels (no leakage, reproducible)
        self.categories_: dict[str, list[str]] = {
            c: sorted({str(v) for v in df[c].dropna().unique()}) for c in self.categorical_
        }
        self._codes = {c: {v: float(i) for i, v in enumerate(cats)} for c, cats in self.categories_.items()}
        return self

    @property
    def categorical_index_(self) -> list[int]:
        """Positions of the categorical columns in feature_names_."""
        cats = set(self.categorical_)
        return [i for i, c in enumerate(self.feature_names_) if c in cats]

    @property
    def numeric_(self) -> list[str]:
        """The non-categorical feature names."""
        cats = set(self.categorical_)
        return [c for c in self.feature_names_ if c not in cats]

    def check_columns(self, columns: Collection[str]) -> None:
        """Raises PdeError naming the feature columns the table lacks."""
        present = set(columns)
        missing = [c for c in self.feature_names_ if c not in present]
        if missing:
            shown = ", ".join(f"`{c}`" for c in missing[:5])
            if len(missing) > 5:
                shown += f" and {len(missing) - 5} more"
            raise PdeError(f"column {shown} is missing: the model needs it" if len(missing) == 1
                           else f"columns {shown} are missing: the model needs them")

    def transform(self, X: Table) -> np.ndarray:
        """(n, p) float64 matrix in feature_names_ order; extra columns are ignored."""
        if isinstance(X, np.ndarray):
            if self.categorical_ or X.ndim != 2 or X.shape[1] != len(self.feature_names_):
                raise PdeError(f"a feature matrix must be (rows, {len(self.feature_names_)}) in the model's column "
                               f"order, for a model without categorical features; got shape {X.shape}")
            return X.astype(np.float64, copy=False)
        if isinstance(X, Mapping):
            return self._transform_row(X)
        if isinstance(X, pl.DataFrame) and not self.categorical_:
            self.check_columns(X.columns)
            block = X.select(pl.col(self.feature_names_))  # one expression, not one per name
            if all(t.is_numeric() or t == pl.Boolean for t in block.dtypes):
                # straight from polars: a pandas round trip costs more than the rest of a customer's scoring
                return block.cast(pl.Float64).to_numpy().astype(np.float64, copy=False)
        df = to_pandas(X)
        self.check_columns(df.columns)
        out = np.empty((len(df), len(self.feature_names_)), dtype=np.float64)
        cats = set(self.categorical_)
        num_idx = [j for j, c in enumerate(self.feature_names_) if c not in cats]
        num_names = [self.feature_names_[j] for j in num_idx]
        block = df[num_names]
        if all(pd.api.types.is_numeric_dtype(t) and not pd.api.types.is_object_dtype(t) for t in block.dtypes):
            # one conversion for the whole numeric block; the per-column path is only for odd dtypes
            out[:, num_idx] = block.to_numpy(dtype=np.float64, na_value=np.nan)
        else:
            for j, name in zip(num_idx, num_names, strict=True):
                out[:, j] = _numeric_values(df[name], name)
        for j, name in enumerate(self.feature_names_):
            if name in cats:
                s = df[name]
                present = s.notna().to_numpy()
                strings = np.where(present, s.to_numpy(dtype=object).astype(str), None)
                # pandas' hashing does the lookup in C; missing and unseen values both get code -1
                codes = pd.Categorical(strings, categories=self.categories_[name]).codes.astype(np.float64)
                codes[codes < 0] = np.nan
                out[:, j] = codes
        return out

    def _transform_row(self, row: Mapping[str, Any]) -> np.ndarray:
        """(1, p) matrix for one customer given as a mapping: no DataFrame, so it costs microseconds."""
        self.check_columns(row.keys())
        out = np.empty((1, len(self.feature_names_)), dtype=np.float64)
        codes = self._codes
        for j, name in enumerate(self.feature_names_):
            v = row[name]
            if v is None or (isinstance(v, float) and v != v):
                out[0, j] = np.nan
            elif name in codes:
                out[0, j] = codes[name].get(str(v), np.nan)
            else:
                try:
                    out[0, j] = float(v)
                except (TypeError, ValueError):
                    raise PdeError(f"column `{name}` must be numeric, got {v!r}") from None
        return out
