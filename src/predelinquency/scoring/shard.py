"""One nightly shard: the active customers of a contiguous id range, scored and written with COPY.

The same function runs in the nightly's own process (scoring/nightly.py) and as a task on a Dask worker
(scoring/cluster.py), so both give the same rows.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import date

import numpy as np
import polars as pl
from sqlalchemy import Connection, text

from predelinquency.db.bulk import copy_in
from predelinquency.db.inputs import load_scoring_inputs
from predelinquency.errors import PdeError
from predelinquency.model.drift import DriftAccumulator
from predelinquency.model.pd_model import PDModel
from predelinquency.model.registry import load_model
from predelinquency.model.uplift.model import UpliftModel
from predelinquency.model.uplift.registry import load_uplift
from predelinquency.scoring.compute import score_ids
from predelinquency.scoring.decide import as_frame
from predelinquency.settings import Settings


@dataclass
class RunModels:
    """The models a nightly run scores with: the PD champion and the uplift model that chooses actions."""

    pd: PDModel
    uplift: UpliftModel

    @staticmethod
    def load(conn: Connection, settings: Settings, pd_version: str | None = None,
             uplift_version: str | None = None) -> RunModels:
        """The given versions (a worker loads exactly the coordinator's), else the champions; the configured prior
        when no uplift model is named or promoted."""
        model = load_model(settings, conn, pd_version)
        if model.kind != "behavioural":
            raise PdeError(f"the champion {model.version} is a {model.kind} model; nightly scoring needs a "
                           "behavioural model (pde train without --data), promoted to champion")
        return RunModels(model, load_uplift(settings, conn, uplift_version))


def shard_customer_ids(conn: Connection, bounds: tuple[int, int]) -> np.ndarray:
    """Active customers of the shard with these bounds, sorted."""
    ids = conn.execute(text("SELECT customer_id FROM customers WHERE is_active AND customer_id BETWEEN :lo AND :hi "
                            "ORDER BY 1"), {"lo": bounds[0], "hi": bounds[1]}).scalars().all()
    return np.asarray(ids, dtype=np.int64)


def score_shard(conn: Connection, settings: Settings, models: RunModels, as_of: date, bounds: tuple[int, int],
                run_id: int, version_now: int, at_latest: bool, drift: DriftAccumulator,
                table: str = "risk_scores") -> tuple[pl.DataFrame, dict[str, float]]:
    """Scores the shard of the active customers within bounds and COPYs its rows into `table` (risk_scores, or the
    cluster's staging table); (the rows written, seconds spent reading, scoring and writing).

    at_latest: as_of is the day after the latest data, so each customer's window holds their latest day.
    """
    t0 = time.perf_counter()
    ids = shard_customer_ids(conn, bounds)
    if len(ids) == 0:
        return pl.DataFrame(), {"read": round(time.perf_counter() - t0, 3), "score": 0.0, "write": 0.0}
    inputs, previous = load_scoring_inputs(conn, as_of, ids.tolist())
    t1 = time.perf_counter()
    decided, features = score_ids(conn, settings, models.pd, as_of, ids, (inputs, previous), uplift=models.uplift)
    rows = as_frame(decided)
    # what lets later requests reuse the row (scoring/stored.py): the write count and each customer's latest
    # data day (as_of - 1 makes it their default-as_of score; unknown in a backfill, whose window ends before
    # the customer's real latest data)
    last = (inputs.daily.group_by("customer_id").agg(pl.col("day").max().alias("last_data_day")) if at_latest
            else pl.DataFrame({"customer_id": ids, "last_data_day": pl.Series([None] * len(ids), dtype=pl.Date)}))
    rows = (rows.join(last, on="customer_id", how="left", maintain_order="left")
            .with_columns(pl.lit(as_of).alias("as_of"), pl.lit(models.pd.version).alias("model_version"),
                          pl.lit(run_id).alias("batch_run_id"), pl.lit(version_now).alias("data_version")))
    drift.add(rows["score"].to_numpy(), features)
    t2 = time.perf_counter()
    copy_in(conn, table, rows)
    t3 = time.perf_counter()
    return rows, {"read": round(t1 - t0, 3), "score": round(t2 - t1, 3), "write": round(t3 - t2, 3)}
