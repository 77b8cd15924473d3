"""Closing the loop: what contacts really prevent (`effects.py`, measured against the randomised control group)
and, on the synthetic bank, the bank going on day by day with the team working the plan (`advance.py`)."""
