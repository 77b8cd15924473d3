"""The policy backtest (`pde backtest policy`): how much each contact policy would prevent on the synthetic bank.

world.py plays the bank forward once in memory with no contacts (simulate/forward.py) and scores each plan day
with the product's own code; policies.py replays every policy on that world's stored arrays; figures.py turns
each policy's contacts into prevented misses, loss, cost and net benefit; run.py validates the arguments, reads
in one read-only snapshot and stores the result in policy_backtests (audited). Nothing is written to the bank.
"""
