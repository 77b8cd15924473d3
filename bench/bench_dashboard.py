"""Benchmark the dashboard's server work per page: the cached queries each page runs, on real data.

Run: DATABASE_URL=... .venv/bin/python bench/bench_dashboard.py [--rounds 3]
     (or PDE_DATA_DIR=data to use the embedded server of a `./run-local.sh` install)

For each page it times the same query calls the page makes on its first render (default filters):
  cold      caches empty, first call (database buffers may also be cold on the first page)
  uncached  caches cleared again, database warm: what a page costs when its cache has expired
  cached    the second call within the TTL (what every later render costs)
Target: ≤ 1 s per page uncached-warm. Charts and widgets are not included (browser-side work).
"""

from __future__ import annotations

import argparse
import logging
import statistics
import sys
import time
import warnings
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
warnings.filterwarnings("ignore")

import streamlit as st  # noqa: E402

from dashboard.queries import core  # noqa: E402
from dashboard.queries import customer as cq  # noqa: E402
from dashboard.queries import effects as eq  # noqa: E402
from dashboard.queries import interventions as iq  # noqa: E402
from dashboard.queries import models as mdq  # noqa: E402
from dashboard.queries import monitor as mq  # noqa: E402
from dashboard.queries import portfolio as pq  # noqa: E402
from dashboard.queries import worklist as wq  # noqa: E402


def quiet() -> None:
    """Outside `streamlit run` every cached call warns that there is no runtime; the figures are what matter."""
    for name in list(logging.root.manager.loggerDict):
        if name.startswith("streamlit"):
            logging.getLogger(name).setLevel(logging.ERROR)


def pages(ctx: core.Context, customer_id: int | None) -> dict[str, Callable[[], object]]:
    """Per page, a function making the page's query calls with its default filters."""
    s = core.settings()
    cool = s.operations.contact_cooldown_days
    as_of, v = ctx.as_of, ctx.model_version
    window = s.operations.outcome_window_days
    today = core.business_date()
    f = iq.Filters(today - timedelta(days=90), today)

    def action_center() -> None:
        core.context(), core.business_date(), core.segments(), core.officers(), wq.sla_summary()
        if ctx.has_scores:
            wq.queue_summary(as_of, v, False, window)
            wq.todays_plan(s.operations.daily_contact_capacity)
            wq.worklist(as_of, v, (1, 2, 3), (), (), None, (), False, cool, window)
        wq.open_interventions(), wq.cooldown_customers(cool)

    def risk_overview() -> None:
        if not ctx.has_scores:
            return
        pq.segment_concentration(as_of, v), pq.kpis(as_of, v, None), eq.effects()
        pq.risk_trend(as_of, None), pq.contacts(None), pq.tier_counts(as_of, v, None)
        pq.pd_histogram(as_of, v, None), pq.top_drivers(as_of, v, None), pq.rising_risk(as_of, v, None)

    def deep_dive() -> None:
        core.counts(), cq.search("a")
        if customer_id is None:
            return
        cq.profile(customer_id), cq.latest_score(customer_id), cq.score_history(customer_id)
        cq.behaviour(customer_id), cq.interventions(customer_id)
        if ctx.has_scores:
            cq.segment_averages(as_of, v)

    def monitor() -> None:
        if ctx.has_scores:
            mq.tier_jumps(as_of, v), mq.score_changes(as_of, v)
        mq.latest_psi(), mq.failed_runs(), mq.recent_runs(), mq.activity(None), wq.sla_summary()

    def model_performance() -> None:
        mdq.versions(include_retired=True), mq.latest_psi(), mq.psi_history(), mdq.promotions()

    def tracker() -> None:
        core.counts(), core.officers(), eq.effects(), iq.activity(f), iq.outcome_distribution(f)
        iq.timeline(f), iq.response_times(f), iq.listing(f)

    def data_management() -> None:
        for kind in ("generate", "train", "nightly", "advance"):
            runs = mq.runs(kind, 1)
            if not runs.empty:
                mq.run_detail(int(runs.iloc[0]["run_id"]))
        mq.runs(None, 30)

    return {"Action Center": action_center, "Risk Overview": risk_overview, "Customer Deep Dive": deep_dive,
            "Real-time Monitor": monitor, "Model Performance": model_performance,
            "Interventions Tracker": tracker, "Data Management": data_management}


def timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3, help="uncached/cached rounds per page (median reported)")
    args = parser.parse_args()
    quiet()
    eng = core.engine()
    ctx = core.context()
    quiet()  # the cache loggers exist only after the first cached call
    top = None
    if ctx.has_scores:  # the deep dive of the customer at the top of the queue, as an officer would open it
        top = core.row("SELECT customer_id FROM risk_scores WHERE as_of = :a AND model_version = :v "
                       "ORDER BY urgency, expected_benefit DESC LIMIT 1", a=ctx.as_of, v=ctx.model_version)
    counts = core.row("SELECT (SELECT count(*) FROM customers) AS customers, "
                      "(SELECT count(*) FROM daily_balances) AS daily_rows, "
                      "(SELECT count(*) FROM risk_scores) AS scores, (SELECT count(*) FROM interventions) AS iv")
    print(f"database {eng.url.render_as_string(hide_password=True)}")
    print(f"data: {counts['customers']:,} customers, {counts['daily_rows']:,} daily rows, "
          f"{counts['scores']:,} risk scores, {counts['iv']:,} interventions; scoring {ctx.as_of} {ctx.model_version}")
    work = pages(ctx, top.get("customer_id") if top else None)
    print(f"\n{'page':<24}{'cold s':>9}{'uncached s':>12}{'cached s':>10}")
    worst = 0.0
    for name, fn in work.items():
        st.cache_data.clear()
        cold = timed(fn)
        uncached, cached = [], []
        for _ in range(args.rounds):
            st.cache_data.clear()
            uncached.append(timed(fn))
            cached.append(timed(fn))
        u, c = statistics.median(uncached), statistics.median(cached)
        worst = max(worst, u)
        print(f"{name:<24}{cold:>9.3f}{u:>12.3f}{c:>10.4f}")
    print(f"\nslowest page uncached (warm database): {worst:.3f} s (target ≤ 1 s)")


if __name__ == "__main__":
    main()
