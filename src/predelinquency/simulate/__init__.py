"""The synthetic bank: customers, latent financial stress, transactions, instalments, daily rows, true_pd.

Public entry: `generate_bank(engine, settings, customers=..., days=..., seed=...)` (what `pde generate` runs).
"""

from predelinquency.simulate.generate import generate_bank
from predelinquency.simulate.timeline import DEFAULT_END

__all__ = ["DEFAULT_END", "generate_bank"]
