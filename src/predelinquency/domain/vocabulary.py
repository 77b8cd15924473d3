"""The words every layer shares: customer segments, products, transaction categories and channels, payment
statuses and risk tiers. Bank files are validated against them, the generator draws from them and the
features and database enums are built on them."""

from __future__ import annotations

from typing import Literal

SEGMENTS = ("mass", "mass_affluent", "affluent", "young_professional", "senior")
EMPLOYMENT = ("salaried", "self_employed", "contract", "retired", "unemployed")
PRODUCTS = ("current", "savings", "credit_card", "personal_loan")
CREDIT_PRODUCTS = ("credit_card", "personal_loan")
TXN_CATEGORIES = (
    "salary", "transfer_in", "lending_app_credit",
    "groceries", "utilities", "rent", "transport", "health",
    "dining", "entertainment", "shopping", "travel", "subscriptions",
    "atm_withdrawal", "gambling", "lending_app_repayment",
    "loan_instalment", "card_repayment", "savings_transfer", "transfer_out",
)
TXN_CHANNELS = ("card", "atm", "online", "transfer", "direct_debit", "branch")
TXN_STATUSES = ("posted", "failed")
PAYMENT_STATUS = ("paid", "late", "missed", "pending")

# contacts with a customer (the CHECK constraints on interventions); the generator owns their hidden effects
INTERVENTION_TYPES = ("soft_reminder", "agent_call", "restructuring_offer", "payment_holiday", "financial_counselling")
CONTACT_CHANNELS = ("sms", "email", "phone", "branch", "app")
# what an officer records after trying to contact: the contact's result, never whether a miss was prevented
CONTACT_RESULTS = ("reached", "no_answer", "promise_to_pay", "refused")
# how an instalment due in a contact's outcome window ended (settled from payments by the nightly)
PAYMENT_OUTCOMES = ("paid", "late", "missed", "no_instalment")

# risk tiers, least risky first; thresholds between them are settings (scoring.tiers)
TIERS = ("Low", "Medium", "High", "Critical")
Tier = Literal["Low", "Medium", "High", "Critical"]
