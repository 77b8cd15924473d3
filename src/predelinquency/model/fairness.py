"""Fairness: how the model treats groups of customers by each sensitive attribute (never a model feature).

Definitions, per attribute and group:
- flagged: the customer's tier is High or Critical (at training: the tier of the calibrated PD; at night: the
  stored tier, policy rules included). flagged_share is the group's share flagged; plan_share its share in the
  contact arm of the day's plan (null where the plan is not known, as on the out-of-time test).
- adverse_impact_ratio: the four-fifths rule on the favourable outcome, not being flagged: the group's share not
  flagged over the most favoured group's (the reference_group: the highest share not flagged among the groups
  large enough). Below governance.adverse_impact_min: an alert.
- tpr: the share of the group's defaulters (label 1) that were flagged, i.e. at the flagged definition above, not
  at the model's cost threshold, so one figure means the same on the out-of-time test and on a nightly run.
  tpr_gap: the best-served group's tpr minus the group's. Above governance.tpr_gap_max: an alert.
- auc, mean_pd against observed_rate (calibration): on the group's labelled rows; mean_pd is over all its rows
  when the frame has no labels. Label-based figures are null without labels.
Groups with fewer than governance.min_group_size rows are too_small: they get figures but never alerts and are
never the reference. A tpr resting on fewer defaulters than 1 / tpr_gap_max moves by more than the limit when a
single customer changes, so such a group has its tpr and tpr_gap but raises no tpr alert and is not the best-served.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from typing import Any

import numpy as np
import numpy.typing as npt
import polars as pl
from sqlalchemy import Connection, text

from predelinquency.db.bulk import copy_out
from predelinquency.domain.vocabulary import TIERS
from predelinquency.errors import PdeError
from predelinquency.model.evaluate import auc
from predelinquency.settings import Governance

AGE_BANDS = ("18-24", "25-34", "35-44", "45-54", "55-64", "65+")
AGE_BAND_STARTS = (18, 25, 35, 45, 55, 65)
FLAGGED_TIERS = TIERS[-2:]  # High and Critical: the customers the engine asks officers to act on
MISSING = "(missing)"  # the group of rows whose attribute is empty
DIGITS = 6


def age_band(ages: npt.ArrayLike | pl.Series) -> pl.Series:
    """The age band of each age ('18-24' … '65+'); null for a missing age or one under 18."""
    a = np.asarray(ages.to_numpy() if isinstance(ages, pl.Series) else ages, dtype=np.float64)
    idx = np.searchsorted(np.array(AGE_BAND_STARTS, dtype=np.float64), a, side="right") - 1
    known = np.isfinite(a) & (idx >= 0)
    labels = np.array(AGE_BANDS, dtype=object)[np.clip(idx, 0, len(AGE_BANDS) - 1)]
    return pl.Series("age_band", np.where(known, labels, None), dtype=pl.String)


def _normalised(name: str) -> str:
    """A column name compared by its letters and digits alone: 'Age Band', 'AGE-BAND' and 'age_band' are one."""
    return re.sub(r"[^a-z0-9]", "", name.lower())


def sensitive_names(governance: Governance) -> dict[str, str]:
    """{normalised column name: sensitive attribute} of every column name that carries an attribute.

    A raw age carries the age band, so `age` counts as `age_band`.
    """
    names = {_normalised(a): a for a in governance.sensitive_attributes}
    if "age_band" in governance.sensitive_attributes:
        names.setdefault("age", "age_band")
    return names


def sensitive_attribute(column: str, governance: Governance) -> str | None:
    """The sensitive attribute a column is named like, None for any other column."""
    return sensitive_names(governance).get(_normalised(column))


def refuse_sensitive_features(columns: Iterable[str], governance: Governance, hint: str = "") -> None:
    """Raises PdeError naming every feature column that is named like a sensitive attribute (hint: what to do)."""
    found = [(c, a) for c in columns if (a := sensitive_attribute(c, governance)) is not None]
    if found:
        named = ", ".join(f"`{c}`" + ("" if c == a else f" (as {a})") for c, a in found)
        raise PdeError(f"{named}: a sensitive attribute (governance.sensitive_attributes) may not be a model "
                       f"feature; it is only used to report how the model treats each group{hint}")


def attribute_columns(table: pl.DataFrame, governance: Governance) -> pl.DataFrame:
    """One text column per sensitive attribute the table carries (named like it), ages banded; rows kept."""
    out: dict[str, pl.Series] = {}
    for column in table.columns:
        attr = sensitive_attribute(column, governance)
        if attr is None or (attr in out and _normalised(column) != _normalised(attr)):
            continue  # a column named exactly like the attribute wins over `age`
        s = table[column]
        if attr == "age_band" and s.dtype.is_numeric():
            out[attr] = age_band(s)
        else:
            out[attr] = s.cast(pl.String).alias(attr)
    return pl.DataFrame(list(out.values())) if out else pl.DataFrame(height=table.height)


def customer_attributes(conn: Connection, governance: Governance) -> pl.DataFrame:
    """customer_id and one column per sensitive attribute the customers table carries (ages banded)."""
    columns = conn.execute(text(
        "SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema() "
        "AND table_name = 'customers' ORDER BY ordinal_position")).scalars().all()
    carried = [c for c in columns if sensitive_attribute(c, governance) is not None]
    # names come from the catalogue, never from a user; quoted all the same
    select = ", ".join(f'"{c}"' for c in ["customer_id", *carried])
    table = copy_out(conn, f"SELECT {select} FROM customers ORDER BY customer_id",
                     schema={"customer_id": pl.Int64, **{c: pl.Int64 if c == "age" else pl.String for c in carried}})
    return pl.concat([table.select("customer_id"), attribute_columns(table.drop("customer_id"), governance)],
                     how="horizontal")


def _r(x: float | None) -> float | None:
    """Rounded for JSON; None for a missing or undefined figure."""
    return None if x is None or not math.isfinite(x) else round(float(x), DIGITS)


def _share(values: np.ndarray) -> float | None:
    """The share of True among the known values (None when none is known)."""
    return float(np.mean(values)) if len(values) else None


def _group_figures(pd_: np.ndarray, flagged: np.ndarray, in_plan: np.ndarray, plan_known: np.ndarray,
                   label: np.ndarray, labelled: np.ndarray, has_labels: bool) -> dict[str, Any]:
    """The figures of one group's rows that need no other group."""
    y = label[labelled]
    defaults = int(y.sum())
    observed = float(y.mean()) if len(y) else None
    if has_labels:
        mean_pd = float(pd_[labelled].mean()) if len(y) else None
    else:
        mean_pd = float(pd_.mean()) if len(pd_) else None
    return {
        "n": len(pd_), "labelled": int(labelled.sum()), "defaults": defaults,
        "flagged_share": _share(flagged), "plan_share": _share(in_plan[plan_known]),
        "auc": auc(y, pd_[labelled]) if len(y) else None, "mean_pd": mean_pd, "observed_rate": observed,
        "tpr": float(flagged[labelled][y == 1].mean()) if defaults else None,
    }


def _attribute(frame: pl.DataFrame, attr: str, governance: Governance, has_labels: bool,
               arrays: dict[str, np.ndarray]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """({reference_group, groups}, alerts) of one attribute."""
    values = frame[attr].cast(pl.String).fill_null(MISSING).to_numpy()
    groups = []
    for g in sorted(set(values.tolist())):
        m = values == g
        figs = _group_figures(arrays["pd"][m], arrays["flagged"][m], arrays["in_plan"][m], arrays["plan_known"][m],
                              arrays["label"][m], arrays["labelled"][m], has_labels)
        groups.append({"group": g, "too_small": figs["n"] < governance.min_group_size, **figs})

    # the most favoured group: the highest share not flagged among the groups large enough to say anything
    sized = [g for g in groups if not g["too_small"]] or groups
    reference = max(sized, key=lambda g: (1 - g["flagged_share"], g["n"]))
    favourable_ref = 1 - reference["flagged_share"]
    min_defaults = math.ceil(1 / governance.tpr_gap_max - 1e-9)
    tpr_sized = {g["group"] for g in groups
                 if not g["too_small"] and g["tpr"] is not None and g["defaults"] >= min_defaults}
    tpr_best = max((g["tpr"] for g in groups if g["group"] in tpr_sized), default=None)
    if tpr_best is None:  # no group can be trusted as best-served: the gap is to the best known rate, alerts none
        tpr_best = max((g["tpr"] for g in groups if g["tpr"] is not None), default=None)

    alerts = []
    for g in groups:
        air = (1 - g["flagged_share"]) / favourable_ref if favourable_ref > 0 else None
        gap = tpr_best - g["tpr"] if tpr_best is not None and g["tpr"] is not None else None
        g["adverse_impact_ratio"], g["tpr_gap"] = air, gap
        for key in ("flagged_share", "plan_share", "adverse_impact_ratio", "auc", "mean_pd", "observed_rate", "tpr",
                    "tpr_gap"):
            g[key] = _r(g[key])
        if g["too_small"]:
            continue
        if g["adverse_impact_ratio"] is not None and g["adverse_impact_ratio"] < governance.adverse_impact_min:
            alerts.append({"attribute": attr, "group": g["group"], "metric": "adverse_impact_ratio",
                           "value": g["adverse_impact_ratio"], "limit": governance.adverse_impact_min})
        if g["group"] in tpr_sized and g["tpr_gap"] is not None and g["tpr_gap"] > governance.tpr_gap_max:
            alerts.append({"attribute": attr, "group": g["group"], "metric": "tpr_gap",
                           "value": g["tpr_gap"], "limit": governance.tpr_gap_max})
    order = ("group", "n", "too_small", "flagged_share", "plan_share", "adverse_impact_ratio", "auc", "mean_pd",
             "observed_rate", "tpr", "tpr_gap", "labelled", "defaults")
    return {"reference_group": reference["group"], "groups": [{k: g[k] for k in order} for g in groups]}, alerts


def fairness_figures(frame: pl.DataFrame, governance: Governance, population: str) -> dict[str, Any]:
    """Per sensitive attribute and group: flagged and plan shares, adverse-impact ratio, AUC, calibration, TPR gap;
    and the alerts beyond the configured limits.

    frame: pd, flagged (High or Critical), in_plan (bool or null), label (0/1 or null: not known yet) and one column
    per sensitive attribute it carries (age already banded, see age_band); attributes it lacks are left out.
    """
    missing = [c for c in ("pd", "flagged") if c not in frame.columns]
    if missing:
        raise PdeError(f"fairness figures need the column(s) {', '.join(missing)}")
    n = frame.height
    in_plan = frame["in_plan"] if "in_plan" in frame.columns else pl.Series([None] * n, dtype=pl.Boolean)
    label = frame["label"] if "label" in frame.columns else pl.Series([None] * n, dtype=pl.Int8)
    arrays = {
        "pd": frame["pd"].cast(pl.Float64).to_numpy(),
        "flagged": frame["flagged"].cast(pl.Boolean).fill_null(False).to_numpy(),
        "in_plan": in_plan.cast(pl.Boolean).fill_null(False).to_numpy(),
        "plan_known": in_plan.is_not_null().to_numpy(),
        "label": label.cast(pl.Float64).fill_null(0).to_numpy(),
        "labelled": label.is_not_null().to_numpy(),
    }
    labelled_rows = int(arrays["labelled"].sum())
    attributes: dict[str, Any] = {}
    alerts: list[dict[str, Any]] = []
    if n:
        for attr in governance.sensitive_attributes:
            if attr in frame.columns:
                attributes[attr], found = _attribute(frame, attr, governance, labelled_rows > 0, arrays)
                alerts.extend(found)
    return {"population": population, "rows": n, "labelled_rows": labelled_rows, "attributes": attributes,
            "alerts": alerts,
            "limits": {"min_group_size": governance.min_group_size,
                       "adverse_impact_min": governance.adverse_impact_min, "tpr_gap_max": governance.tpr_gap_max}}


def labelled_fairness(pd_: npt.ArrayLike, y: npt.ArrayLike, flagged: npt.ArrayLike, attributes: pl.DataFrame,
                  governance: Governance, population: str) -> dict[str, Any]:
    """fairness_figures of a labelled test: every row labelled, no plan."""
    frame = pl.DataFrame({"pd": np.asarray(pd_, dtype=np.float64), "flagged": np.asarray(flagged, dtype=bool),
                          "in_plan": pl.Series([None] * attributes.height, dtype=pl.Boolean),
                          "label": np.asarray(y, dtype=np.int8)})
    return fairness_figures(pl.concat([frame, attributes], how="horizontal"), governance, population)
