"""Fixtures for the feature tests; the panel builder and frame helpers live in tests/support/feature_panels.py."""

import pytest

from tests.support.feature_panels import PanelBuilder


@pytest.fixture
def builder() -> PanelBuilder:
    """A one-customer quiet panel to write known events into."""
    return PanelBuilder()
