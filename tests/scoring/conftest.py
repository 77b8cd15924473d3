"""Scoring tests read the demo bank: `conn` rolls back on a copy of it cloned once per test module."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine


@pytest.fixture(scope="module")
def engine(demo_engine: Engine) -> Engine:
    """The module's copy of the demo bank, under the name the session's `conn` fixture connects through."""
    return demo_engine
