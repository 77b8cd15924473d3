"""Benchmark compute_features on an in-memory synthetic panel: 30,000 customers at one as_of, and 1 customer.

Targets: 30,000 customers ≤ ~2 s; one customer ≤ ~3 ms (p50).

Run: .venv/bin/python bench/bench_features.py [--customers 30000] [--runs 200]
No database: the panel, customers, accounts and payments are made up here with plausible shapes.
"""

from __future__ import annotations

import argparse
import statistics
import time
from datetime import date, timedelta

import numpy as np
import polars as pl

from predelinquency.domain.daily import FLOW_COLUMNS
from predelinquency.features.build import compute_features
from predelinquency.features.registry import FEATURE_NAMES
from predelinquency.features.window import Panel, build_panel, window

AS_OF = date(2026, 11, 23)
PANEL_DAYS = 160  # a training-style panel: longer than the window, sliced per as_of


def synthetic_inputs(n: int, seed: int = 7) -> tuple[Panel, pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """A random but plausible panel plus customers, accounts and monthly payments for n customers."""
    rng = np.random.default_rng(seed)
    start = AS_OF - timedelta(days=PANEL_DAYS - 20)  # panel runs 20 days past as_of, as in training
    days = np.arange(np.datetime64(start), np.datetime64(start) + PANEL_DAYS)
    dom = (days - days.astype("datetime64[M]").astype("datetime64[D]")).astype(int) + 1
    ids = np.arange(1, n + 1, dtype=np.int64)
    salary_day = rng.integers(1, 29, n)
    income = rng.lognormal(8.0, 0.4, n)
    cols = {c: (rng.poisson(0.3, (n, PANEL_DAYS)) * rng.gamma(2.0, 20.0, (n, PANEL_DAYS))).astype(np.float32)
            for c in FLOW_COLUMNS}
    pay = (dom[None, :] == (salary_day[:, None] + rng.integers(0, 3, (n, 1)))) & (rng.random((n, PANEL_DAYS)) > 0.03)
    cols["salary_in"] = np.where(pay, income[:, None], 0).astype(np.float32)
    cols["inflow"] = cols["salary_in"] + cols["transfer_in"] + cols["lending_app_in"]
    cols["outflow"] = sum(cols[c] for c in ("essential_out", "discretionary_out", "atm_out", "gambling_out",
                                            "lending_app_out", "debt_service_out"))
    cols["savings_out"] = (cols["savings_out"] - 5).astype(np.float32)
    for c in ("txn_count", "card_count", "online_count", "atm_count", "gambling_count", "failed_debits"):
        cols[c] = rng.poisson(0.05 if c == "failed_debits" else 2.0, (n, PANEL_DAYS)).astype(np.float32)
    cols["balance"] = (rng.normal(500, 300, (n, 1)) + np.cumsum(cols["inflow"] - cols["outflow"], axis=1)
                       ).astype(np.float32)
    cols["savings_balance"] = np.maximum(rng.normal(3000, 2000, (n, 1)) + np.cumsum(cols["savings_out"], axis=1), 0
                                         ).astype(np.float32)
    # column-major, as build_panel lays the panel out
    panel = Panel(customer_ids=ids, start=start, columns={k: np.asfortranarray(v) for k, v in cols.items()})
    customers = pl.DataFrame({"customer_id": ids, "monthly_income": income,
                              "salary_day": pl.Series(np.where(rng.random(n) < 0.1, None, salary_day).tolist(),
                                                      dtype=pl.Int16)})
    accounts = pl.DataFrame({"account_id": ids, "customer_id": ids, "product_type": "personal_loan",
                             "monthly_instalment": rng.uniform(100, 600, n), "opened_on": date(2024, 1, 1)})
    months = [date(2026, m, 1) for m in range(6, 13)]
    due = np.array([np.datetime64(m) + d - 1 for m in months for d in rng.integers(1, 29, n)]).reshape(-1)
    late = rng.choice([0, 0, 0, 0, 2, 9, 40], len(due))
    payments = pl.DataFrame({"payment_id": np.arange(len(due)), "customer_id": np.tile(ids, len(months)),
                             "account_id": np.tile(ids, len(months)), "due_date": due,
                             "amount_due": rng.uniform(100, 600, len(due)), "paid_date": due + late,
                             "amount_paid": rng.uniform(100, 600, len(due))})
    return panel, customers, accounts, payments


def _one_customer(panel: Panel, i: int) -> Panel:
    return Panel(customer_ids=panel.customer_ids[i:i + 1], start=panel.start,
                 columns={k: v[i:i + 1] for k, v in panel.columns.items()})


def _timed(fn, runs: int) -> tuple[list[float], list[float]]:
    """(wall seconds, process CPU seconds) of each run, sorted; CPU time is less disturbed by other load."""
    wall, cpu = [], []
    for _ in range(runs):
        w0, c0 = time.perf_counter(), time.process_time()
        fn()
        wall.append(time.perf_counter() - w0)
        cpu.append(time.process_time() - c0)
    return sorted(wall), sorted(cpu)


def _long_frame(panel: Panel) -> pl.DataFrame:
    """The panel's 90-day window as daily_balances-shaped rows, ordered by customer then day."""
    w = window(panel, AS_OF)
    days = np.arange(np.datetime64(w.start), np.datetime64(AS_OF))
    return pl.DataFrame({"customer_id": np.repeat(panel.customer_ids, w.days), "day": np.tile(days, panel.n_customers)}
                        | {c: np.ascontiguousarray(w[c]).reshape(-1) for c in w.columns})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--customers", type=int, default=30_000)
    parser.add_argument("--runs", type=int, default=200)
    args = parser.parse_args()
    panel, customers, accounts, payments = synthetic_inputs(args.customers)
    print(f"{len(FEATURE_NAMES)} features; panel {panel.n_customers} customers x {panel.n_days} days")

    compute_features(panel, AS_OF, customers, accounts, payments)  # warm-up: imports, allocator
    wall, cpu = _timed(lambda: compute_features(panel, AS_OF, customers, accounts, payments), 5)
    print(f"compute {args.customers} customers: wall median {statistics.median(wall):.3f} s "
          f"(best {wall[0]:.3f}), CPU median {statistics.median(cpu):.3f} s")

    # the API path: one customer's panel, profile and payments (already filtered, as the loader returns them)
    one = _one_customer(panel, 42)
    cid = int(one.customer_ids[0])
    c1, a1, p1 = (df.filter(pl.col("customer_id") == cid) for df in (customers, accounts, payments))
    wall, cpu = _timed(lambda: compute_features(one, AS_OF, c1, a1, p1), args.runs)
    p50, p95 = wall[len(wall) // 2] * 1e3, wall[int(len(wall) * .95)] * 1e3
    print(f"compute 1 customer: wall p50 {p50:.2f} ms, p95 {p95:.2f}"
          f" ms, CPU p50 {cpu[len(cpu) // 2] * 1e3:.2f} ms over {args.runs} runs")

    # building the panel from daily rows (what follows the load, before compute)
    long = _long_frame(panel)
    wall, cpu = _timed(lambda: build_panel(long, start=AS_OF - timedelta(days=90), end=AS_OF), 3)
    print(f"build_panel {panel.n_customers} customers x 90 days ({long.height} rows): wall median "
          f"{statistics.median(wall):.3f} s, CPU median {statistics.median(cpu):.3f} s")
    long1 = _long_frame(one)
    wall, cpu = _timed(lambda: build_panel(long1, start=AS_OF - timedelta(days=90), end=AS_OF), args.runs)
    print(f"build_panel 1 customer: wall p50 {wall[len(wall) // 2] * 1e3:.2f} ms")


if __name__ == "__main__":
    main()
