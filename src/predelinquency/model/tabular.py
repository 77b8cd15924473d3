"""Bring your own table: train on any CSV/Parquet with a 0/1 target, and score a file with a registered model.

Everything about the file is checked before anything is trained or written, and problems are reported in the
file's terms (column names, line numbers). CSV line numbers assume one line per record after the header.
Handled rather than refused: a column empty in every row is left out of the model (named in the result), and a
category never seen in training scores as a missing value (counted in predict's result). Refused: a target that
is not 0/1 (two labels such as good/bad are not guessed: which one is the default is the user's to say), and a
feature column named like a sensitive attribute (governance.sensitive_attributes; `age` counts as the age band):
such columns are declared as attribute columns instead, kept aside from the features and used only for the
fairness figures of the test rows.
"""

from __future__ import annotations

import csv
import logging
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
from sqlalchemy import Connection, Engine

from predelinquency.db.runs import recorded_run
from predelinquency.domain.scale import pd_to_score, pd_to_tier
from predelinquency.errors import PdeError
from predelinquency.model.fairness import attribute_columns, refuse_sensitive_features, sensitive_attribute
from predelinquency.model.registry import load_model, register
from predelinquency.model.split import time_periods
from predelinquency.model.train import train_table
from predelinquency.settings import Governance, Settings

log = logging.getLogger(__name__)
NULL_TOKENS = ["", "NA", "N/A", "n/a", "NaN", "nan", "null", "NULL", "None", "?"]
TRUE_FALSE = {"0": 0, "1": 1, "0.0": 0, "1.0": 1, "false": 0, "true": 1}
# a raw time column is cut into this many periods of equal row counts; the newest settings.training.oot_snapshots
# of them are the test (2 of 10 = the newest ~20% of rows), the validation_snapshots before them validate
TIME_PERIODS = 10


@dataclass
class TrainingTable:
    """A validated training file: features, 0/1 labels, optional time groups, the file's column roles, and the
    columns left out because they are empty in every row."""

    X: pl.DataFrame
    y: np.ndarray
    groups: np.ndarray | None
    target: str
    id_column: str | None
    time_column: str | None
    empty_columns: list[str]
    attributes: pl.DataFrame  # one column per declared sensitive attribute (ages banded); never features


def _is_parquet(path: Path) -> bool:
    return path.suffix.lower() in (".parquet", ".pq")


def _where(path: Path, row: int) -> str:
    """Where data row `row` (0-based) is in the file, in the user's terms."""
    return f"row {row + 1}" if _is_parquet(path) else f"line {row + 2}"


def _check_csv_shape(path: Path) -> None:
    """Raises PdeError at the first record whose field count differs from the header's (polars would pad it)."""
    with path.open(newline="", encoding="utf-8", errors="replace") as f:
        reader = csv.reader(f, strict=True)
        try:
            header = next(reader, None)
            if not header:
                raise PdeError(f"{path} is empty")
            for row in reader:
                if row and len(row) != len(header):
                    raise PdeError(f"{path}, line {reader.line_num}: {len(row)} fields where the header has "
                                   f"{len(header)}")
        except csv.Error as exc:
            raise PdeError(f"{path}, line {reader.line_num}: unreadable ({exc})") from None


def read_table(path: Path, string_columns: list[str] | None = None) -> pl.DataFrame:
    """The file as a DataFrame (CSV or Parquet by extension); PdeError when missing, empty or malformed."""
    if not path.is_file():
        raise PdeError(f"{path} does not exist")
    if path.stat().st_size == 0:
        raise PdeError(f"{path} is empty")
    try:
        if _is_parquet(path):
            df = pl.read_parquet(path)
        else:
            _check_csv_shape(path)
            overrides = {c: pl.String for c in string_columns or []}
            df = pl.read_csv(path, infer_schema_length=None, null_values=NULL_TOKENS, schema_overrides=overrides,
                             encoding="utf8-lossy")
    except PdeError:
        raise
    except Exception as exc:  # polars/arrow parse errors: one line is enough
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise PdeError(f"cannot read {path}: {first}") from exc
    if df.height == 0:
        raise PdeError(f"{path} has a header but no data rows")
    return df


def _labels(df: pl.DataFrame, target: str, path: Path) -> np.ndarray:
    """The target as 0/1; PdeError naming empty or non-binary values."""
    s = df[target]
    nulls = s.is_null()
    if nulls.any():
        first = int(nulls.arg_true()[0])
        raise PdeError(f"target column `{target}` has {int(nulls.sum())} empty value(s), "
                       f"first at {_where(path, first)}")
    if s.dtype == pl.Boolean:
        y = s.cast(pl.Int64).to_numpy()
    else:
        text = s.cast(pl.String).str.strip_chars().str.to_lowercase()
        mapped = text.replace_strict(TRUE_FALSE, default=None, return_dtype=pl.Int64)
        if mapped.is_null().any():
            values = sorted(set(s.cast(pl.String).unique().to_list()))
            if len(values) == 2:
                # two labels such as good/bad are refused, not guessed: the wrong way round the model ranks
                # the safest customers as the riskiest and nothing downstream would notice
                raise PdeError(f"target column `{target}` must be binary 0/1 with 1 = default; it has the labels "
                               f"{values[0]!r} and {values[1]!r}: recode it, 1 for the label that means default "
                               "and 0 for the other")
            shown = ", ".join(repr(v) for v in values[:6]) + (", …" if len(values) > 6 else "")
            raise PdeError(f"target column `{target}` must be binary 0/1 (or true/false); found values: {shown}: "
                           "recode it, 1 for a default and 0 otherwise")
        y = mapped.to_numpy()
    if y.min() == y.max():
        raise PdeError(f"target column `{target}` has only {int(y[0])}s: need both defaults (1) and non-defaults (0)")
    return y.astype(np.int64)


def _time_groups(df: pl.DataFrame, column: str, path: Path) -> np.ndarray:
    """Each row's time period (the period's first time), TIME_PERIODS periods of about equal row counts."""
    s = df[column]
    if s.dtype == pl.String:
        parsed = s.str.to_datetime(strict=False)
        bad = parsed.is_null() & s.is_not_null()
        if bad.any():
            first = int(bad.arg_true()[0])
            raise PdeError(f"time column `{column}` has {int(bad.sum())} value(s) that are not dates, "
                           f"first {s[first]!r} at {_where(path, first)}")
        s = parsed
    elif not (s.dtype.is_temporal() or s.dtype.is_numeric()):
        raise PdeError(f"time column `{column}` must hold dates, times or numbers, not {s.dtype}")
    if s.is_null().any():
        first = int(s.is_null().arg_true()[0])
        raise PdeError(f"time column `{column}` has {int(s.is_null().sum())} empty value(s), first at "
                       f"{_where(path, first)}")
    times = s.to_numpy()
    period = time_periods(times, TIME_PERIODS)
    # label each period by its first time so the stored split says which dates were the test
    starts = {int(p): times[period == p].min() for p in np.unique(period)}
    return np.array([starts[int(p)] for p in period])


def _check_ids(df: pl.DataFrame, id_column: str, path: Path, time_column: str | None = None) -> None:
    """Raises PdeError for an empty id or one that repeats (per time, with a time column), naming both lines."""
    s = df[id_column]
    if s.null_count():
        first = int(s.is_null().arg_true()[0])
        raise PdeError(f"id column `{id_column}` has {s.null_count()} empty value(s), first at {_where(path, first)}")
    keys = [id_column, *([time_column] if time_column else [])]
    seen_before = df.select(pl.int_range(pl.len()).over(keys) > 0).to_series()
    if not seen_before.any():
        return
    second = int(seen_before.arg_true()[0])
    key = df.row(second, named=True)
    first = int(df.select(pl.all_horizontal([pl.col(k) == key[k] for k in keys]).arg_true()).to_series()[0])
    per = f" at the same `{time_column}`" if time_column else ""
    hint = "" if time_column else " (rows of one customer at several dates need --time)"
    raise PdeError(f"id column `{id_column}` repeats{per}: {key[id_column]!r} at {_where(path, first)} and "
                   f"{_where(path, second)}, {int(seen_before.sum())} repeat(s) in all: "
                   f"each row needs its own id{hint}")


def _check_numeric_looking(df: pl.DataFrame, path: Path) -> None:
    """Raises PdeError for a text column that is really numeric but for a few stray values (a typo, not a category)."""
    for name, dtype in df.schema.items():
        if dtype != pl.String:
            continue
        s = df[name].drop_nulls()
        as_num = s.cast(pl.Float64, strict=False)
        bad = as_num.is_null()
        n_bad = int(bad.sum())
        if 0 < n_bad <= 0.1 * len(s) and as_num.n_unique() >= 10:
            value = s.filter(bad)[0]
            row = int((df[name] == value).arg_true()[0])
            raise PdeError(f"column `{name}` is numeric but has {n_bad} non-numeric value(s), first {value!r} at "
                           f"{_where(path, row)}: correct them or leave them empty")


def _attributes(df: pl.DataFrame, columns: list[str], governance: Governance, path: Path) -> pl.DataFrame:
    """The declared sensitive-attribute columns, one per attribute; PdeError for one that is none."""
    for col in columns:
        if col not in df.columns:
            raise PdeError(f"attribute column `{col}` is not in {path}; its columns are: {', '.join(df.columns[:20])}")
        if sensitive_attribute(col, governance) is None:
            raise PdeError(f"attribute column `{col}` is not named like a sensitive attribute: the configured ones "
                           f"are {', '.join(governance.sensitive_attributes)} (governance.sensitive_attributes)")
    if not columns:  # selecting no column would also drop the rows
        return pl.DataFrame(height=df.height)
    return attribute_columns(df.select(columns), governance)


def load_training_table(path: Path, target: str, id_column: str | None = None, time_column: str | None = None,
                        attributes: list[str] | None = None, governance: Governance | None = None) -> TrainingTable:
    """The validated training table from a file; PdeError for anything the user must fix in it.

    attributes: columns holding sensitive attributes, kept aside for the fairness figures; any other column named
    like a sensitive attribute is refused as a feature.
    """
    governance = governance or Governance()
    df = read_table(path)
    roles = {"target": target, "id": id_column, "time": time_column}
    for role, col in roles.items():
        if col is not None and col not in df.columns:
            raise PdeError(f"{role} column `{col}` is not in {path}; its columns are: {', '.join(df.columns[:20])}")
    used = [c for c in roles.values() if c]
    if len(set(used)) != len(used):
        raise PdeError("--target, --id and --time must be different columns")
    aside = list(dict.fromkeys(attributes or []))
    if set(aside) & set(used):
        raise PdeError("an attribute column cannot also be the target, id or time column")
    kept_aside = _attributes(df, aside, governance, path)
    refuse_sensitive_features(df.drop(used + aside).columns, governance,
                              ": leave it out of the file, or keep it aside for the fairness figures with "
                              "--attributes COLUMN")
    used += aside
    y = _labels(df, target, path)
    if id_column:
        _check_ids(df, id_column, path, time_column)
    groups = _time_groups(df, time_column, path) if time_column else None
    X = df.drop(used)
    # a column empty in every row says nothing: left out (and named in the result), not an error
    empty = [c for c in X.columns if X[c].null_count() == X.height]
    if empty:
        log.warning("column(s) %s empty in every row: left out of the model", ", ".join(f"`{c}`" for c in empty))
        X = X.drop(empty)
    if X.width == 0:
        left_out = f" (empty in every row: {', '.join(empty)})" if empty else ""
        raise PdeError(f"{path} has no feature columns besides the target, id and time{left_out}")
    _check_numeric_looking(X, path)
    return TrainingTable(X, y, groups, target, id_column, time_column, empty, kept_aside)


def train_file(settings: Settings, engine: Engine, path: Path, target: str, *, actor: str,
               id_column: str | None = None, time_column: str | None = None,
               search_trials: int | None = None, attributes: list[str] | None = None) -> dict[str, Any]:
    """Trains and registers a tabular model from the file; {version, status, metrics, params, empty_columns}.

    Columns empty in every row are left out of the model and listed in empty_columns (and in params). attributes:
    the file's sensitive-attribute columns, never features: the test rows' fairness is in metrics["fairness"].
    """
    # before the run: a bad file records nothing
    table = load_training_table(path, target, id_column, time_column, attributes, settings.governance)
    job = {"data": str(path), "target": target, "id_column": id_column, "time_column": time_column,
           "rows": table.X.height}
    with recorded_run(engine, "train", actor, job) as rec:
        left_out = f" ({len(table.empty_columns)} empty column(s) left out)" if table.empty_columns else ""
        rec.progress(0.01, f"training on {table.X.height} rows, {table.X.width} features from {path.name}{left_out}")
        result = train_table(table.X, table.y, table.groups, settings, kind="tabular",
                             search_trials=search_trials, progress=rec.progress, attributes=table.attributes,
                             meta={"data": str(path), "target": target, "id_column": id_column,
                                   "time_column": time_column, "empty_columns": table.empty_columns,
                                   "attribute_columns": list(dict.fromkeys(attributes or []))})
        rec.stages.extend(result.stages)
        with engine.begin() as conn:
            reg = register(conn, settings, result.model, trained_by=actor, params=result.params,
                           metrics=result.metrics, baseline=result.baseline)
        rec.metrics.update({"version": reg["version"], "oot_auc": result.metrics["oot_auc"]})
    return {**reg, "kind": "tabular", "metrics": result.metrics, "params": result.params,
            "empty_columns": table.empty_columns}


def _unseen_categories(df: pl.DataFrame, categories: dict[str, list[str]], path: Path) -> dict[str, int]:
    """{column: rows} of category values the model never saw in training (they are scored as missing)."""
    unseen = {}
    for name, known in categories.items():
        if name not in df.columns:
            continue  # the model's own check names the missing column
        s = df[name].cast(pl.String)
        new = s.is_not_null() & ~s.is_in(known)
        if new.any():
            first = int(new.arg_true()[0])
            unseen[name] = int(new.sum())
            log.warning("column `%s`: %d value(s) not seen in training, first %r at %s: scored as missing",
                        name, unseen[name], s[first], _where(path, first))
    return unseen


def predict_file(settings: Settings, conn: Connection, path: Path, out: Path,
                 version: str | None = None) -> dict[str, Any]:
    """Writes id, probability, score and tier per row of the file to `out` (CSV); {version, rows, out, tiers,
    unseen_categories}.

    Nothing is written unless every row could be scored. A category the model never saw in training is scored
    as a missing value; unseen_categories counts such rows per column.
    """
    model = load_model(settings, conn, version)
    id_column = model.meta.get("id_column")
    # categories are read as text whatever they look like, so "01" stays "01" as in training
    df = read_table(path, string_columns=model.categorical_features)
    if id_column and id_column not in df.columns:
        raise PdeError(f"id column `{id_column}` (the id at training) is not in {path}")
    if id_column:
        time_column = model.meta.get("time_column")
        _check_ids(df, id_column, path, time_column if time_column in df.columns else None)
    unseen = _unseen_categories(df, model.ensemble.encoder_.categories_, path)
    pd_ = model.predict_pd(df)  # PdeError names any column the model needs that the file lacks
    score = pd_to_score(pd_, settings.scoring)
    tier = pd_to_tier(pd_, settings.scoring)
    ids = df[id_column] if id_column else pl.Series("row", np.arange(1, df.height + 1))
    result = pl.DataFrame({ids.name: ids, "probability": np.round(pd_, 6), "score": score,
                           "tier": tier.astype(str)})
    out.parent.mkdir(parents=True, exist_ok=True)
    # write beside the target and rename: a reader never sees half a file, a failure leaves no file
    fd, tmp = tempfile.mkstemp(prefix=f".{out.name}.", dir=out.parent)
    os.close(fd)
    try:
        result.write_csv(tmp)
        os.replace(tmp, out)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    tiers = {t: int(n) for t, n in zip(*np.unique(tier.astype(str), return_counts=True), strict=True)}
    return {"version": model.version, "rows": df.height, "out": str(out), "mean_pd": round(float(pd_.mean()), 6),
            "tiers": tiers, "unseen_categories": unseen}
