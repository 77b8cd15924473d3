"""Pre-Delinquency Engine: predicts missed payments 30 days ahead from banking behaviour."""

__version__ = "0.1.0"
