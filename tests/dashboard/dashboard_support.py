"""Dashboard test support: where the app is, the test password, and a small representative bank written
straight into a database.

Used when the real pipeline (pde generate / train / nightly) is not available: customers, accounts, daily
balances, two models with evaluation metrics, three nightly scorings with reasons and actions, and batch runs
with drift. Scores go through the real scoring functions (scale, actions) so tiers, bands and actions agree.
"""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import polars as pl
from sqlalchemy import Connection, text

from predelinquency.db.bulk import copy_in
from predelinquency.scoring.actions import expected_loss, recommend_actions
from predelinquency.scoring.scale import pd_to_score, pd_to_tier, score_to_band
from predelinquency.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
APP = str(ROOT / "dashboard" / "streamlit_app.py")
PASSWORD = "correct horse battery"
FIRST = ("Anna", "Ben", "Clara", "David", "Elena", "Farid", "Grace", "Hugo", "Ines", "Jonas", "Karin", "Liam",
         "Maria", "Nils", "Olga", "Pavel", "Rosa", "Sami", "Tara", "Victor")
LAST = ("Meyer", "Okafor", "Santos", "Novak", "Larsen", "Haddad", "Kowalski", "Moreau", "Rossi", "Schmidt",
        "Tanaka", "Ward", "Fischer", "Dubois", "Costa")
SEGMENTS = ("mass", "mass_affluent", "affluent", "young_professional", "senior")
REASONS = (("failed_debits_30d", "payments", "{value:.0f} auto-debits failed in the last 30 days"),
           ("salary_delay_days_last", "salary", "Salary arrived {value:.0f} days late"),
           ("balance_days_below_zero_30d", "balance", "Overdrawn on {value:.0f} of the last 30 days"),
           ("savings_drawdown_ratio_90d", "balance", "Savings fell by {value:.0%} in 90 days"),
           ("spend_total_30d_vs_prev60", "spending", "Spending up {value:.0%} on the previous months"))


def _metrics(rng: np.random.Generator, auc: float) -> dict:
    fpr = np.linspace(0, 1, 30)
    tpr = np.clip(fpr ** (1 / (auc * 4 - 1.2)), 0, 1)
    recall = np.linspace(0.01, 1, 30)
    precision = np.clip(0.6 * (1 - recall) ** 1.5 + 0.05, 0, 1)
    pred = np.sort(rng.uniform(0.005, 0.5, 10))
    thresholds = np.geomspace(0.005, 0.9, 40)
    cost = 90_000 - 60_000 * np.exp(-((np.log(thresholds) - np.log(0.08)) ** 2))
    return {
        "oot_auc": auc, "oot_pr_auc": auc - 0.45, "brier": 0.041, "ece": 0.006, "threshold": 0.08,
        "precision_at_threshold": 0.31, "recall_at_threshold": 0.64, "precision_top5": 0.42, "recall_top5": 0.38,
        "expected_cost": 31_000.0, "expected_cost_no_model": 96_000.0, "expected_cost_at_0_5": 70_000.0,
        "cv_auc_mean": auc - 0.01, "cv_auc_std": 0.012,
        "per_learner_auc": {"catboost": auc, "xgboost": auc - 0.01, "lightgbm": auc - 0.008},
        "importance": [{"feature": f, "importance": round(0.5 / (i + 1), 4)} for i, (f, _, _) in enumerate(REASONS)],
        "curves": {
            "roc": {"fpr": fpr.round(4).tolist(), "tpr": tpr.round(4).tolist()},
            "pr": {"precision": precision.round(4).tolist(), "recall": recall.round(4).tolist()},
            "calibration": {"pred": pred.round(4).tolist(),
                            "true": np.clip(pred + rng.normal(0, 0.01, 10), 0, 1).round(4).tolist(),
                            "count": [120] * 10},
            "confusion": {"tp": 64, "fp": 142, "tn": 1758, "fn": 36},
            "cost_curve": {"threshold": thresholds.round(6).tolist(), "cost": cost.round(2).tolist()},
        },
    }


def seed_demo(conn: Connection, settings: Settings, customers: int = 300, days: int = 120, seed: int = 1) -> date:
    """Writes the demo bank and its scores; returns the latest scoring date (yesterday)."""
    rng = np.random.default_rng(seed)
    ids, outstanding, latest = _seed_bank(conn, rng, customers, days)
    seed_scores(conn, settings, ids, outstanding, latest, rng)
    return latest


def seed_scores_on_existing(conn: Connection, settings: Settings, seed: int = 1) -> date:
    """Models, three scorings and runs for the customers already in the database (e.g. from `pde generate`);
    returns the latest scoring date (the day after the last daily row)."""
    rows = conn.execute(text(
        "SELECT c.customer_id, coalesce(sum(a.outstanding), 0)::float8 FROM customers c "
        "LEFT JOIN accounts a ON a.customer_id = c.customer_id GROUP BY 1 ORDER BY 1")).all()
    latest = conn.execute(text("SELECT max(day) + 1 FROM daily_balances")).scalar_one() or date.today()
    ids = np.array([r[0] for r in rows])
    outstanding = np.array([r[1] for r in rows])
    seed_scores(conn, settings, ids, outstanding, latest, np.random.default_rng(seed))
    return latest


def _seed_bank(conn: Connection, rng: np.random.Generator, customers: int, days: int
               ) -> tuple[np.ndarray, np.ndarray, date]:
    """Customers, accounts and daily balances; returns (ids, credit outstanding per customer, latest day + 1)."""
    ids = np.arange(1, customers + 1)
    names = [f"{FIRST[i % len(FIRST)]} {LAST[(i * 7) % len(LAST)]}" for i in range(customers)]
    segment = rng.choice(SEGMENTS, customers)
    income = rng.gamma(4, 700, customers).round(2)
    copy_in(conn, "customers", pl.DataFrame({
        "customer_id": ids, "full_name": names, "age": rng.integers(19, 80, customers),
        "employment_type": rng.choice(("salaried", "self_employed", "contract", "retired"), customers),
        "segment": segment, "region": rng.choice(("North", "South", "East", "West", "Capital"), customers),
        "monthly_income": income, "salary_day": rng.integers(1, 28, customers),
        "tenure_months": rng.integers(3, 240, customers)}))
    outstanding = rng.gamma(2, 2_500, customers).round(2)
    copy_in(conn, "accounts", pl.DataFrame({
        "account_id": np.concatenate([ids * 10, ids * 10 + 1]), "customer_id": np.concatenate([ids, ids]),
        "product_type": ["current"] * customers + ["credit_card"] * customers,
        "outstanding": np.concatenate([np.zeros(customers), outstanding]),
        "due_day": [None] * customers + rng.integers(1, 28, customers).tolist(),
        "opened_on": [date(2020, 1, 1)] * (2 * customers)}))

    today = date.today()
    latest = today - timedelta(days=1)
    start = latest - timedelta(days=days)
    n = customers * days
    day = np.tile(np.array([start + timedelta(days=d) for d in range(days)], dtype="datetime64[D]"), customers)
    cid = np.repeat(ids, days)
    salary = np.where(np.tile(np.arange(days) % 30 == 3, customers), np.repeat(income, days), 0.0)
    balance = np.repeat(rng.normal(1_500, 800, customers), days) + rng.normal(0, 300, n).cumsum() % 2_000 - 500
    zeros = np.zeros(n)
    df = pl.DataFrame({
        "customer_id": cid, "day": day, "balance": balance.round(2), "savings_balance": zeros + 1_000,
        "inflow": salary, "outflow": zeros + 60, "salary_in": salary, "transfer_in": zeros,
        "lending_app_in": np.where(rng.random(n) < 0.01, 200.0, 0.0), "essential_out": zeros + 40,
        "discretionary_out": zeros + 20, "utility_out": zeros, "atm_out": np.where(rng.random(n) < 0.05, 300.0, 10.0),
        "gambling_out": np.where(rng.random(n) < 0.02, 80.0, 0.0), "lending_app_out": zeros,
        "debt_service_out": zeros, "savings_out": zeros, "txn_count": np.full(n, 3), "card_count": np.full(n, 2),
        "online_count": np.full(n, 1), "atm_count": np.zeros(n, dtype=int), "gambling_count": np.zeros(n, dtype=int),
        "failed_debits": np.where(rng.random(n) < 0.01, 1, 0)}).with_columns(pl.col("day").cast(pl.Date))
    conn.execute(text("SELECT pde_ensure_partitions('daily_balances', :a, :b)"), {"a": start, "b": latest})
    copy_in(conn, "daily_balances", df)
    return ids, outstanding, latest


def seed_scores(conn: Connection, settings: Settings, ids: np.ndarray, outstanding: np.ndarray, latest: date,
                rng: np.random.Generator) -> None:
    """Two models (champion unless one exists, and a challenger), three weekly scorings and two batch runs."""
    customers = len(ids)
    champion = conn.execute(text("SELECT version FROM model_versions WHERE status = 'champion'")).scalar()
    conn.execute(text(
        "INSERT INTO model_versions (version, kind, status, artifact_path, trained_by, metrics, feature_names) "
        "VALUES ('v-demo-1', 'behavioural', :status, '/nonexistent', 'cli:test', CAST(:m1 AS jsonb), '[]'), "
        "('v-demo-2', 'behavioural', 'challenger', '/nonexistent', 'cli:test', CAST(:m2 AS jsonb), '[]')"),
        {"m1": json.dumps(_metrics(rng, 0.84)), "m2": json.dumps(_metrics(rng, 0.86)),
         "status": "challenger" if champion else "champion"})
    version = champion or "v-demo-1"

    base = rng.beta(0.6, 9, customers)
    prev_pd = None
    as_ofs = [latest - timedelta(days=14), latest - timedelta(days=7), latest]
    conn.execute(text("SELECT pde_ensure_partitions('risk_scores', :a, :b)"), {"a": as_ofs[0], "b": latest})
    for step, as_of in enumerate(as_ofs):
        p = np.clip(base * (1 + 0.25 * step * rng.random(customers)), 0.001, 0.95)
        tier = pd_to_tier(p, settings.scoring)
        score = pd_to_score(p, settings.scoring)
        el = expected_loss(p, outstanding, settings.costs.lgd)
        action, benefit = recommend_actions(el, settings.actions)
        urgency = np.select([tier == "Critical", (tier == "High") & (step == 2) & (rng.random(customers) < 0.5),
                             tier == "High", tier == "Medium"], [1, 2, 3, 3], 4)
        urgency[(action == "none") & (tier != "Critical")] = 4
        reasons = [json.dumps([{"code": f.upper(), "feature": f, "family": fam, "value": 2.0,
                                "contribution": round(float(c), 3), "text": t.format(value=2.0)}
                               for (f, fam, t), c in zip(
                                   [REASONS[(i + k) % len(REASONS)] for k in range(3)],
                                   sorted(rng.uniform(0.1, 1.2, 3), reverse=True), strict=True)])
                   for i in range(customers)]
        none = [None] * customers
        prev_tier = none if prev_pd is None else pd_to_tier(prev_pd, settings.scoring)
        prev_score = None if prev_pd is None else pd_to_score(prev_pd, settings.scoring)
        copy_in(conn, "risk_scores", pl.DataFrame({
            "as_of": [as_of] * customers, "customer_id": ids, "model_version": [version] * customers,
            "pd": p, "score": score, "rating_band": score_to_band(score, settings.scoring), "tier": tier,
            "model_tier": tier, "prev_pd": none if prev_pd is None else prev_pd, "prev_tier": prev_tier,
            "score_change": none if prev_score is None else score - prev_score, "reasons": reasons,
            "exposure": outstanding, "expected_loss": el, "recommended_action": action, "expected_benefit": benefit,
            "urgency": urgency}, strict=False))
        prev_pd = p

    psi = {"psi": {"score": 0.31, "features": {f: round(0.05 + 0.1 * i, 3) for i, (f, _, _) in enumerate(REASONS)}}}
    conn.execute(text(
        "INSERT INTO batch_runs (kind, status, triggered_by, progress, message, metrics, log, started_at, finished_at) "
        "VALUES ('nightly', 'succeeded', 'system:scheduler', 1, 'scored 300 customers', CAST(:m AS jsonb), "
        "'12:00:00 scored', now() - interval '2 hours', now() - interval '1 hour 58 minutes'), "
        "('train', 'failed', 'cli:root', 0.4, 'fitting', '{}', '12:00:00 fitting', now() - interval '1 day', "
        "now() - interval '23 hours')"), {"m": json.dumps(psi)})
    conn.execute(text("UPDATE batch_runs SET error = 'MemoryError: out of memory' WHERE status = 'failed'"))
