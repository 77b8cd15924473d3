"""The password and actor the tests' users share, and argon2 parameters cheap enough for tests."""

from __future__ import annotations

from argon2 import PasswordHasher

PASSWORD = "correct horse battery"
SYSTEM = "system:test"


def cheap_hasher() -> PasswordHasher:
    """Argon2id with the smallest costs: tests check who may log in, not how slow guessing is."""
    return PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
