"""The generated bank is realistic and learnable: retail miss rates, warning signals that precede missed
payments, and a true_pd that ranks and matches the realised outcomes."""

import polars as pl
from sklearn.metrics import roc_auc_score

from tests.support.bank import CUSTOMERS, DAYS, Bank


def test_row_counts_and_shapes(bank: Bank):
    r = bank.result
    assert r["customers"] == CUSTOMERS
    assert r["daily_rows"] == r["labels"] == CUSTOMERS * DAYS
    months = DAYS / 30.4
    assert 50 * CUSTOMERS * months * 0.9 < r["transactions"] < 200 * CUSTOMERS * months


def test_miss_rate_is_a_realistic_retail_rate(panel: pl.DataFrame, bank: Bank):
    rate = panel["missed"].mean()
    assert 0.03 <= rate <= 0.08
    assert 0.03 <= bank.result["observed_miss_rate"] <= 0.08


def test_warning_signals_precede_missed_payments(panel: pl.DataFrame):
    means = panel.group_by("missed").agg(
        pl.col("gambling").mean(), pl.col("atm_out").mean(), pl.col("failed_debits").mean(),
        pl.col("lending_app_in").mean(), (pl.col("late_salaries") > 0).mean().alias("salary_delayed"),
        pl.col("savings_out").mean(),
    ).sort("missed")
    no, yes = means.row(0, named=True), means.row(1, named=True)
    for signal, ratio in (("gambling", 1.3), ("atm_out", 1.2), ("failed_debits", 2.0), ("lending_app_in", 2.0),
                          ("salary_delayed", 1.5)):
        assert yes[signal] > ratio * no[signal], (signal, yes[signal], no[signal])
    # savings are drawn down (negative savings_out) before a miss
    assert yes["savings_out"] < no["savings_out"]


def test_true_pd_ranks_and_matches_the_realised_label(panel: pl.DataFrame):
    auc = roc_auc_score(panel["missed"].to_numpy(), panel["true_pd"].to_numpy())
    assert auc > 0.7
    rate, mean_pd = panel["missed"].mean(), panel["true_pd"].mean()
    assert abs(mean_pd - rate) < 0.3 * rate
