"""Synthetic customers and their products: demographics, income, habits, accounts and instalments."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

EMPLOYMENT = ("salaried", "self_employed", "contract", "retired", "unemployed")
SALARIED, SELF_EMPLOYED, CONTRACT, RETIRED, UNEMPLOYED = range(5)
SEGMENTS = ("mass", "mass_affluent", "affluent", "young_professional", "senior")
REGIONS = ("London", "South East", "South West", "East of England", "West Midlands", "East Midlands",
           "North West", "North East", "Yorkshire and the Humber", "Scotland", "Wales", "Northern Ireland")
_REGION_P = np.array([16, 14, 9, 10, 9, 7, 11, 4, 8, 8, 3, 1], dtype=float)
FIRST_NAMES = (
    "Oliver", "Amelia", "George", "Isla", "Harry", "Ava", "Noah", "Mia", "Jack", "Sophia", "Leo", "Grace",
    "Arthur", "Lily", "Muhammad", "Freya", "Oscar", "Emily", "Charlie", "Ivy", "Jacob", "Ella", "Thomas",
    "Rosie", "Henry", "Evie", "William", "Florence", "James", "Poppy", "Aisha", "Priya", "Daniel", "Hannah",
    "Samuel", "Chloe", "Joseph", "Zara", "David", "Sarah", "Michael", "Fatima", "Adam", "Layla", "Ethan",
    "Ruby", "Mohammed", "Alice", "Liam", "Olivia", "Kwame", "Ngozi", "Tomasz", "Agnieszka", "Raj", "Anita",
)
LAST_NAMES = (
    "Smith", "Jones", "Taylor", "Brown", "Williams", "Wilson", "Johnson", "Davies", "Patel", "Robinson",
    "Wright", "Thompson", "Evans", "Walker", "White", "Roberts", "Green", "Hall", "Thomas", "Clarke",
    "Jackson", "Wood", "Harris", "Edwards", "Turner", "Martin", "Cooper", "Hill", "Ward", "Hughes", "Moore",
    "Clark", "King", "Harrison", "Lewis", "Baker", "Lee", "Allen", "Morris", "Khan", "Scott", "Watson",
    "Davis", "Parker", "James", "Bennett", "Young", "Phillips", "Richardson", "Mitchell", "Bailey", "Carter",
    "Cook", "Singh", "Shaw", "Bell", "Collins", "Morgan", "Kelly", "Begum", "Nowak", "Okafor", "Mensah",
)
# account_id = customer_id * 10 + product code: readable, and needs no lookup when writing transactions
CURRENT, SAVINGS, CARD, LOAN = 1, 2, 3, 4


def _cents(x: np.ndarray) -> np.ndarray:
    return np.round(x * 100).astype(np.int64)


@dataclass
class Customers:
    """One chunk of customers: attributes, hidden traits and products; money in integer cents."""

    customer_id: np.ndarray
    age: np.ndarray
    employment: np.ndarray          # index into EMPLOYMENT
    segment: np.ndarray             # index into SEGMENTS
    region: np.ndarray              # index into REGIONS
    first_name: np.ndarray          # index into FIRST_NAMES
    last_name: np.ndarray           # index into LAST_NAMES
    tenure_months: np.ndarray
    income: np.ndarray              # monthly net income, cents
    pay_day: np.ndarray             # day of month income arrives (salary, pension, benefit); 0 = irregular
    base_risk: np.ndarray           # logit offset of missing a payment, before stress
    # habits
    activity: np.ndarray            # target transactions per month
    spend_amount: np.ndarray        # mean everyday spending per transaction, cents
    discretionary_share: np.ndarray
    atm_rate: np.ndarray            # ATM withdrawals per day when not stressed
    gamble_rate: np.ndarray         # gambling transactions per day when not stressed
    save_share: np.ndarray          # share of the month-end surplus moved to savings
    overdraft: np.ndarray           # arranged overdraft, cents
    # products and fixed outgoings
    has_savings: np.ndarray
    current_open: np.ndarray
    savings_open: np.ndarray
    rent: np.ndarray                # cents per month, 0 = owns or lives with family
    rent_day: np.ndarray
    util_day: np.ndarray            # (n, 3) day of month, 0 = slot unused
    util_amount: np.ndarray         # (n, 3) cents
    subs_day: np.ndarray            # (n, 3) day of month, 0 = slot unused
    subs_amount: np.ndarray         # (n, 3) cents
    has_card: np.ndarray
    card_limit: np.ndarray
    card_outstanding: np.ndarray
    card_due_day: np.ndarray
    card_instalment: np.ndarray
    has_loan: np.ndarray
    loan_outstanding: np.ndarray
    loan_due_day: np.ndarray
    loan_instalment: np.ndarray
    tenure_days_card: np.ndarray    # how long before the start each product was opened
    tenure_days_loan: np.ndarray
    tenure_days_savings: np.ndarray

    @property
    def n(self) -> int:
        return len(self.customer_id)


def make_customers(rng: np.random.Generator, first_id: int, n: int, txn_min: int = 50, txn_max: int = 200) -> Customers:
    """n customers with ids first_id.. , their hidden traits and products, drawn from rng."""
    u = rng.random
    age = np.clip(np.round(18 + rng.gamma(3.2, 8.0, n)), 18, 92).astype(np.int16)  # median ~41
    emp = rng.choice(5, n, p=[0.66, 0.12, 0.13, 0.02, 0.07])
    old = age >= 66
    emp[old] = np.where(u(n)[old] < 0.85, RETIRED, SALARIED)
    emp[(emp == RETIRED) & (age < 55)] = SALARIED

    median = np.array([2600, 2800, 2400, 1700, 800], dtype=float)[emp]
    sigma = np.array([0.45, 0.65, 0.45, 0.35, 0.2])[emp]
    life_curve = np.clip(0.7 + 0.45 * np.minimum(age - 18, 27) / 27, 0.7, 1.15)
    income_f = median * life_curve * np.exp(rng.normal(0, 1, n) * sigma)
    income_f = np.clip(income_f, 450, 40_000)
    tenure = np.minimum((age - 18) * 12, rng.exponential(70, n)).astype(np.int32)

    segment = np.zeros(n, dtype=np.int8)
    segment[income_f >= 3800] = 1
    segment[income_f >= 6500] = 2
    segment[(segment == 0) & (age < 33) & np.isin(emp, (SALARIED, CONTRACT)) & (income_f >= 2300)] = 3
    segment[age >= 65] = 4

    regular = np.isin(emp, (SALARIED, CONTRACT, RETIRED, UNEMPLOYED))
    month_end = rng.integers(25, 29, n)
    pay_day = np.where(u(n) < 0.5, month_end, np.where(u(n) < 0.4, 1, np.where(u(n) < 0.4, 15, rng.integers(1, 29, n))))
    pay_day = np.where(regular, pay_day, 0).astype(np.int8)

    # hidden habit factor: drives risk and the habits that betray it, without being observable itself
    habit = rng.normal(0, 1, n)

    # products: every customer has at least one credit product (the portfolio the engine watches)
    has_card = u(n) < 0.68
    has_loan = u(n) < np.where(age < 40, 0.48, 0.36)
    has_card |= ~has_loan
    card_limit = np.where(has_card, np.maximum(500, np.round(income_f * rng.uniform(0.6, 3.0, n) / 100) * 100), 0)
    util_ratio = rng.beta(2, 3, n) * np.exp(0.25 * habit)
    card_out = np.where(has_card, np.minimum(card_limit, card_limit * util_ratio), 0)
    card_inst = np.where(has_card, np.minimum(np.maximum(25, 0.05 * card_out), 0.08 * income_f), 0)
    principal = income_f * rng.uniform(2, 10, n)
    apr = rng.uniform(0.06, 0.18, n)
    term = rng.integers(24, 85, n)
    r = apr / 12
    loan_inst = principal * r / (1 - (1 + r) ** -term)
    scale = np.minimum(1.0, 0.18 * income_f / loan_inst)  # lenders cap instalments at ~18% of income
    loan_inst = np.where(has_loan, loan_inst * scale, 0)
    loan_out = np.where(has_loan, principal * scale * rng.uniform(0.35, 0.95, n), 0)
    # due days: often a few days after pay day, otherwise anywhere in the month
    after_pay = (np.where(pay_day > 0, pay_day, rng.integers(1, 29, n)) + rng.integers(1, 9, n) - 1) % 28 + 1
    card_due = np.where(u(n) < 0.6, after_pay, rng.integers(1, 29, n))
    loan_due = np.where(u(n) < 0.6, (after_pay + rng.integers(0, 4, n) - 1) % 28 + 1, rng.integers(1, 29, n))

    renter = u(n) < np.where(age < 35, 0.75, np.where(age >= 65, 0.2, 0.45))
    rent = np.where(renter, income_f * rng.uniform(0.2, 0.36, n), 0)
    rent_day = rng.integers(1, 5, n)
    n_util = rng.choice([1, 2, 3], n, p=[0.2, 0.4, 0.4])
    first_util = rng.integers(1, 29, n)
    slot = np.arange(3)
    util_day = np.where(slot[None, :] < n_util[:, None], (first_util[:, None] + 9 * slot[None, :] - 1) % 28 + 1, 0)
    util_amount = np.where(util_day > 0, np.maximum(15, income_f[:, None] * rng.uniform(0.012, 0.035, (n, 3))), 0)
    n_subs = np.minimum(rng.poisson(1.6, n), 3)
    subs_day = np.where(slot[None, :] < n_subs[:, None], rng.integers(1, 29, (n, 3)), 0)
    subs_amount = np.where(subs_day > 0, rng.choice([4.99, 6.99, 9.99, 10.99, 12.99, 15.99], (n, 3)), 0)

    dti = (card_inst + loan_inst) / income_f
    base_risk = (0.9 * (emp == UNEMPLOYED) + 0.35 * (emp == SELF_EMPLOYED) + 0.3 * (emp == CONTRACT)
                 - 0.35 * (emp == RETIRED) - 0.45 * np.log(income_f / 2500) + 0.3 * (age < 25)
                 - 0.15 * (tenure > 60) + 2.0 * (dti - 0.1) + 0.5 * habit + rng.normal(0, 0.35, n))

    # transactions per month: most customers near the minimum, a few heavy users; room is left at the top
    # for stress-driven extras (cash, gambling, bounced debits)
    span = txn_max - txn_min
    activity = txn_min + np.minimum(span * np.where(u(n) < 0.05, rng.beta(2, 3, n), rng.beta(0.8, 12, n)),
                                    max(span - 25, 0))
    is_gambler = u(n) < 1 / (1 + np.exp(2.3 - 0.8 * habit))
    gamble_rate = np.where(is_gambler, rng.lognormal(np.log(5 / 30), 0.6, n), 0.0)
    atm_rate = rng.lognormal(np.log(np.where(age >= 60, 5, 2.5) / 30), 0.6, n)
    has_savings = u(n) < np.where(segment > 0, 0.9, 0.72)
    saving_rate = rng.uniform(0.0, 0.08, n) * (habit < 0.8)
    fixed = rent + util_amount.sum(1) + subs_amount.sum(1) + card_inst + loan_inst
    budget = np.maximum(0.15 * income_f, income_f * (1 - saving_rate) - fixed - atm_rate * 30 * 70)
    spend_count = np.maximum(activity - 12, 20)
    spend_amount = budget / spend_count * np.exp(rng.normal(0, 0.05, n) + 0.04 * habit)

    return Customers(
        customer_id=first_id + np.arange(n, dtype=np.int64),
        age=age, employment=emp.astype(np.int8), segment=segment,
        region=rng.choice(len(REGIONS), n, p=_REGION_P / _REGION_P.sum()).astype(np.int8),
        first_name=rng.integers(0, len(FIRST_NAMES), n), last_name=rng.integers(0, len(LAST_NAMES), n),
        tenure_months=tenure, income=_cents(income_f), pay_day=pay_day, base_risk=base_risk,
        activity=activity, spend_amount=spend_amount * 100, discretionary_share=rng.uniform(0.3, 0.6, n),
        atm_rate=atm_rate, gamble_rate=gamble_rate,
        save_share=np.where(u(n) < 0.65, rng.uniform(0.2, 0.6, n), 0.0),
        overdraft=np.where(u(n) < 0.65, _cents(np.round(income_f * rng.uniform(0.2, 1.0, n), -1)), 0),
        has_savings=has_savings,
        current_open=_cents(income_f * rng.lognormal(np.log(0.6), 0.6, n) * np.exp(-0.3 * habit)),
        savings_open=np.where(has_savings, _cents(income_f * rng.lognormal(np.log(1.5), 1.0, n)
                                                  * np.exp(-0.4 * habit)), 0),
        rent=_cents(rent), rent_day=rent_day.astype(np.int8),
        util_day=util_day.astype(np.int8), util_amount=_cents(util_amount),
        subs_day=subs_day.astype(np.int8), subs_amount=_cents(subs_amount),
        has_card=has_card, card_limit=_cents(card_limit), card_outstanding=_cents(card_out),
        card_due_day=np.where(has_card, card_due, 0).astype(np.int8), card_instalment=_cents(card_inst),
        has_loan=has_loan, loan_outstanding=_cents(loan_out),
        loan_due_day=np.where(has_loan, loan_due, 0).astype(np.int8), loan_instalment=_cents(loan_inst),
        tenure_days_card=(rng.random(n) * tenure * 30).astype(np.int64),
        tenure_days_loan=(rng.random(n) * np.minimum(tenure, term) * 30).astype(np.int64),
        tenure_days_savings=(rng.random(n) * tenure * 30).astype(np.int64),
    )
