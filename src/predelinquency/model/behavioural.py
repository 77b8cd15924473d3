"""`pde train` on the bank's own data: snapshots → ensemble → metrics against the generator's ceiling → registry."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import numpy as np
import polars as pl
from sqlalchemy import Connection, Engine, text

from predelinquency.db.bulk import copy_out
from predelinquency.db.inputs import load_feature_inputs
from predelinquency.db.runs import RunRecorder, recorded_run
from predelinquency.errors import PdeError
from predelinquency.features.registry import FEATURE_NAMES
from predelinquency.model import split as S
from predelinquency.model.dataset import Snapshots, build_snapshots, oot_gap, snapshot_dates
from predelinquency.model.evaluate import auc
from predelinquency.model.fairness import customer_attributes, refuse_sensitive_features
from predelinquency.model.registry import register
from predelinquency.model.train import train_table
from predelinquency.settings import Settings


def data_span(conn: Connection) -> tuple[date, date]:
    """First and last day of the daily rollup; PdeError when there is none."""
    first, last = conn.execute(text("SELECT min(day), max(day) FROM daily_balances")).one()
    if first is None:
        raise PdeError("there is no banking data to train on: run pde generate or load data first "
                       "(or train on a table of your own: pde train --data FILE --target COLUMN)")
    return first, last


def ceiling_auc(conn: Connection, snaps: Snapshots, rows: np.ndarray) -> float | None:
    """ROC-AUC of the generator's own true PD on the given rows (None outside synthetic data)."""
    keys = pl.DataFrame({"customer_id": snaps.customer_id[rows], "as_of": snaps.as_of[rows],
                         "y": snaps.y[rows]}).with_columns(pl.col("as_of").cast(pl.Date))
    lo, hi = keys["as_of"].min(), keys["as_of"].max()
    truth = copy_out(conn, "SELECT customer_id, as_of, true_pd FROM labels WHERE as_of BETWEEN %(lo)s AND %(hi)s",
                     {"lo": lo, "hi": hi},
                     schema={"customer_id": pl.Int64, "as_of": pl.Date, "true_pd": pl.Float64})
    joined = keys.join(truth, on=["customer_id", "as_of"], how="inner")
    if joined.height < len(keys) * 0.99 or joined["y"].n_unique() < 2:
        return None
    return round(auc(joined["y"].to_numpy(), joined["true_pd"].to_numpy()), 6)


def train_behavioural(engine: Engine, settings: Settings, actor: str) -> dict[str, Any]:
    """Trains, evaluates out of time and registers a behavioural model; {version, status, metrics, run_id}."""
    refuse_sensitive_features(FEATURE_NAMES, settings.governance)  # a bad configuration records no run
    with recorded_run(engine, "train", actor, {"source": "database"}) as rec:
        return _train(engine, settings, actor, rec)


def _train(engine: Engine, settings: Settings, actor: str, rec: RunRecorder) -> dict[str, Any]:
    with engine.connect() as conn:
        with rec.stage("load") as st:
            first, last = data_span(conn)
            dates = snapshot_dates(first, last, settings)
            # labels look outcome_days past the newest as_of: load the payments due in that window too
            inputs = load_feature_inputs(
                conn, dates[0], dates[-1],
                payments_due_before=dates[-1] + timedelta(days=settings.features.outcome_days + 1))
            st["rows"] = inputs.daily.height
        rec.progress(0.1, f"building {len(dates)} snapshots from {dates[0]} to {dates[-1]}")
        with rec.stage("snapshots") as st:
            snaps = build_snapshots(inputs.daily, inputs.customers, inputs.accounts, inputs.payments, dates,
                                    settings, lambda f, m: rec.progress(0.1 + 0.2 * f, m))
            st["rows"] = len(snaps)
        del inputs
        gap = oot_gap(settings)
        groups = snaps.as_of
        # each snapshot row's customer's sensitive attributes: kept beside the features for the fairness figures
        attributes = (pl.DataFrame({"customer_id": snaps.customer_id})
                      .join(customer_attributes(conn, settings.governance), on="customer_id", how="left",
                            maintain_order="left").drop("customer_id"))
        with rec.stage("train"):
            # validation = a share of the customers over the development period, not a second time window:
            # 180 days cannot afford two 30-day gaps (see split)
            result = train_table(snaps.X, snaps.y, groups, settings, kind="behavioural", gap=gap, validation_gap=0,
                                 entities=snaps.customer_id,
                                 meta={"snapshots": [str(d) for d in dates], "data_span": [str(first), str(last)]},
                                 attributes=attributes, progress=lambda f, m: rec.progress(0.3 + 0.65 * f, m))
        t = settings.training
        test_rows = S.out_of_time_split(groups, t.oot_snapshots, t.validation_snapshots, gap, 0,
                                        snaps.customer_id, t.validation_share).test
        ceiling = ceiling_auc(conn, snaps, test_rows)
    metrics = result.metrics
    if ceiling is not None:
        metrics["ceiling_auc"] = ceiling
        metrics["auc_share_of_ceiling"] = round(metrics["oot_auc"] / ceiling, 6)
    with engine.begin() as conn:
        reg = register(conn, settings, result.model, trained_by=actor, params=result.params, metrics=metrics,
                       baseline=result.baseline)
    rec.stages.extend(result.stages)
    rec.metrics.update({"version": reg["version"], "oot_auc": metrics.get("oot_auc"), "ceiling_auc": ceiling})
    return {**reg, "metrics": metrics, "run_id": rec.run_id}
