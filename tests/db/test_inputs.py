import math
from datetime import date

import numpy as np
import polars as pl
import pytest
from sqlalchemy import Connection, text

from predelinquency.db.bulk import customer_filter
from predelinquency.db.inputs import (
    DAILY_SCHEMA,
    load_feature_inputs,
    load_latest_scoring_inputs,
    load_scoring_inputs,
)
from predelinquency.features.build import compute_features
from predelinquency.features.registry import names
from predelinquency.settings import Settings
from predelinquency.table import Columns, Table, column
from tests.support.features import features_at, panel_of

AS_OF = date(2026, 3, 1)


@pytest.fixture
def bank(conn: Connection) -> Connection:
    """Customers 1-3; customer 1 has daily rows Nov 20 - Mar 10 (Feb 25 missing), a loan and two payments."""
    conn.execute(text("SELECT pde_ensure_partitions('daily_balances', '2025-11-01', '2026-04-30')"))
    conn.execute(text(
        "INSERT INTO customers (customer_id, full_name, age, employment_type, segment, region, monthly_income, "
        "salary_day, tenure_months) VALUES "
        "(1, 'Ann', 40, 'salaried', 'mass', 'north', 3000, 15, 50), "
        "(2, 'Bob', 30, 'self_employed', 'mass', 'south', 2000, NULL, 10), "
        "(3, 'Cy', 50, 'retired', 'senior', 'east', 1500, NULL, 200)"))
    conn.execute(text(
        "INSERT INTO accounts (account_id, customer_id, product_type, due_day, monthly_instalment, opened_on) VALUES "
        "(11, 1, 'current', NULL, NULL, '2020-01-01'), (12, 1, 'personal_loan', 10, 200, '2024-05-01'), "
        "(13, 3, 'credit_card', 5, 50, '2026-03-01')"))
    conn.execute(text(
        "INSERT INTO daily_balances SELECT 1, d::date, "
        "  CASE WHEN d >= '2026-02-26' THEN -40 ELSE 100 END, 1000, "          # balance, savings_balance
        "  s, 0, s, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, "                            # inflow .. savings_out
        "  1, 1, 0, 0, 0, "                                                    # txn, card, online, atm, gambling
        "  CASE WHEN d IN ('2026-02-10', '2026-02-20', '2026-03-02') THEN 1 ELSE 0 END "
        "FROM generate_series('2025-11-20'::date, '2026-03-10'::date, '1 day') AS d, "
        "LATERAL (SELECT CASE WHEN d IN ('2025-12-15', '2026-01-15', '2026-02-21') THEN 3000 ELSE 0 END AS s) x "
        "WHERE d <> '2026-02-25'"))
    conn.execute(text(
        "INSERT INTO payments (payment_id, customer_id, account_id, due_date, amount_due, paid_date, amount_paid, "
        "days_late, status) VALUES "
        "(1, 1, 12, '2026-01-10', 200, '2026-01-10', 200, 0, 'paid'), "
        "(2, 1, 12, '2026-02-10', 200, '2026-03-05', 200, 23, 'missed'), "   # paid only after as_of
        "(3, 1, 12, '2026-03-10', 200, NULL, 0, NULL, 'pending')"))
    return conn


def test_load_reads_the_window_range_and_the_requested_customers(bank: Connection):
    inputs = load_feature_inputs(bank, date(2026, 2, 1), AS_OF, [1, 2])
    assert inputs.start == date(2025, 11, 3) and inputs.end == AS_OF
    assert inputs.daily.schema == pl.Schema(DAILY_SCHEMA)
    assert inputs.daily["day"].min() == date(2025, 11, 20) and inputs.daily["day"].max() == date(2026, 2, 28)
    assert inputs.customers["customer_id"].to_list() == [1, 2]
    assert sorted(inputs.accounts["account_id"].to_list()) == [11, 12]
    assert sorted(inputs.payments["payment_id"].to_list()) == [1, 2]
    panel = panel_of(inputs)
    assert panel.customer_ids.tolist() == [1, 2] and panel.start == inputs.start and panel.end == AS_OF


def test_several_customers_are_read_exactly_whatever_their_order_and_gaps(bank: Connection):
    """The filter carries the ids' bounds (an index range for a nightly shard): only the ids listed come back."""
    only, params = customer_filter([3, 1])
    assert "BETWEEN" in only and (params["id_lo"], params["id_hi"]) == (1, 3)
    inputs = load_feature_inputs(bank, AS_OF, AS_OF, [3, 1], payments_due_before=date(2026, 4, 1))
    assert inputs.customers["customer_id"].to_list() == [1, 3]
    assert sorted(inputs.accounts["account_id"].to_list()) == [11, 12, 13]
    assert set(inputs.daily["customer_id"].to_list()) == {1}


def test_load_without_customer_ids_reads_everyone(bank: Connection):
    inputs = load_feature_inputs(bank, AS_OF, AS_OF, payments_due_before=date(2026, 4, 1))
    assert inputs.customers["customer_id"].to_list() == [1, 2, 3]
    assert sorted(inputs.payments["payment_id"].to_list()) == [1, 2, 3]


def test_features_at_gives_the_expected_values(bank: Connection, settings: Settings):
    df = features_at(bank, AS_OF, [1, 2], settings)
    assert df.columns == ["customer_id", *names()]
    one, two = df.row(0, named=True), df.row(1, named=True)
    assert one["customer_id"] == 1 and two["customer_id"] == 2
    assert one["salary_delay_days_last"] == 6
    assert one["failed_debits_30d"] == 2                 # the Mar 2 failure is after as_of
    assert one["past_due_flag"] == 1 and one["past_due_days_max"] == 19
    assert one["missed_instalments_30d"] == 1 and one["missed_instalments_90d"] == 1
    assert one["balance_days_below_zero_7d"] == 3        # Feb 26-28; the missing Feb 25 carries Feb 24's 100
    assert one["credit_accounts_count"] == 1 and one["instalment_monthly_total"] == 200
    # customer 2 has no banking data: balances unknown, nothing counted
    assert math.isnan(two["balance_last"]) and two["txn_count_90d"] == 0


def test_empty_customer_list_gives_an_empty_frame(bank: Connection, settings: Settings):
    df = features_at(bank, AS_OF, [], settings)
    assert df.height == 0 and df.columns == ["customer_id", *names()]


def test_one_customer_fetched_reads_what_a_copy_of_everyone_reads(bank: Connection):
    """One customer goes through the pipelined binary fetch ("= id"), everyone through COPY: same rows."""
    one = load_feature_inputs(bank, AS_OF, AS_OF, [1], payments_due_before=date(2026, 4, 1))
    everyone = load_feature_inputs(bank, AS_OF, AS_OF, payments_due_before=date(2026, 4, 1)).only([1])
    for name in ("daily", "customers", "accounts", "payments"):
        got, expected = getattr(one, name), getattr(everyone, name)
        assert got.schema == expected.schema, name
        key = [c for c in ("customer_id", "day", "account_id", "payment_id") if c in got.columns]
        assert got.sort(key).equals(expected.sort(key)), name
    assert one.daily.height == 89 and one.payments.height == 3  # Dec 1 - Feb 28 without Feb 25


def assert_same_rows(got: Table, expected: Table, name: str) -> None:
    """Equal values (NaN, NaT and None for null), whichever form each table has and in whatever row order."""
    assert list(got.schema) == list(expected.schema) and got.height == expected.height, name

    def ordered(table: Table) -> dict[str, np.ndarray]:
        keys = [column(table, k) for k in ("customer_id", "day", "account_id", "payment_id") if k in table.schema]
        order = np.lexsort(keys[::-1]) if keys else np.arange(table.height)
        return {c: column(table, c)[order] for c in table.schema}

    a, b = ordered(got), ordered(expected)
    for c in a:
        np.testing.assert_array_equal(a[c], b[c], err_msg=f"{name}.{c}")


def test_one_customer_read_as_columns_is_what_a_copy_reads(bank: Connection, settings: Settings):
    """Scoring on demand reads numpy Columns, the nightly polars frames: same values, nulls and dtypes."""
    inputs, previous = load_scoring_inputs(bank, AS_OF, [1], on_demand=True)
    everyone = load_feature_inputs(bank, AS_OF, AS_OF).only([1])
    for name in ("daily", "customers", "accounts", "payments"):
        got, expected = getattr(inputs, name), getattr(everyone, name)
        assert isinstance(got, Columns), name
        assert_same_rows(got, expected, name)
    assert previous.height == 0 and list(previous.schema) == ["customer_id", "prev_pd", "prev_tier", "prev_score"]
    frames = compute_features(panel_of(everyone), AS_OF, everyone.customers, everyone.accounts, everyone.payments)
    columns = compute_features(panel_of(inputs), AS_OF, inputs.customers, inputs.accounts, inputs.payments)
    assert columns.equals(frames)


def test_the_latest_day_and_the_inputs_at_the_day_after_come_in_one_read(bank: Connection):
    as_of, inputs, previous = load_latest_scoring_inputs(bank, [1])
    assert as_of == date(2026, 3, 11)  # customer 1's latest day is Mar 10
    expected, expected_previous = load_scoring_inputs(bank, as_of, [1], on_demand=True)
    assert (inputs.start, inputs.end) == (expected.start, expected.end) == (date(2025, 12, 11), as_of)
    for name in ("daily", "customers", "accounts", "payments"):
        assert_same_rows(getattr(inputs, name), getattr(expected, name), name)
    assert inputs.daily.height == 89 and inputs.payments.height == 3  # Dec 11 - Mar 10 without Feb 25
    # the pending payment's NULL date is NaT and its NULL integer NaN, as polars' to_numpy gives them
    assert np.isnat(inputs.payments["paid_date"]).sum() == 1 and np.isnan(inputs.payments["days_late"]).sum() == 1
    assert_same_rows(previous, expected_previous, "previous")
    # customer 2 exists but has no daily data yet; 999 does not exist
    as_of, none_yet, _ = load_latest_scoring_inputs(bank, [2])
    assert as_of is None and none_yet.customers.height == 1 and none_yet.daily.height == 0
    as_of, unknown, _ = load_latest_scoring_inputs(bank, [999])
    assert as_of is None and unknown.customers.height == 0
    # several customers: the day after the latest data of any of them, for all
    as_of, both, _ = load_latest_scoring_inputs(bank, [1, 2, 999])
    assert as_of == date(2026, 3, 11) and column(both.customers, "customer_id").tolist() == [1, 2]
    assert both.daily.height == 89
    # many customers (read through COPY after the latest-day lookup): the same day and rows
    many_as_of, many, many_previous = load_latest_scoring_inputs(bank, [1, 2, 3, *range(1000, 1030)])
    assert many_as_of == as_of and many_previous.height == 0
    few = load_latest_scoring_inputs(bank, [1, 2, 3])[1]
    for name in ("daily", "customers", "accounts", "payments"):
        assert_same_rows(getattr(many, name), getattr(few, name), name)


def test_columns_of_no_rows_keep_the_schema():
    empty = Columns.from_rows([], DAILY_SCHEMA)
    assert empty.height == 0 and list(empty) == list(DAILY_SCHEMA) and empty["day"].dtype == "datetime64[D]"
    assert_same_rows(Columns.from_arrays([None] * len(DAILY_SCHEMA), DAILY_SCHEMA), empty, "daily")
