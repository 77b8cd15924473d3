"""Fixtures for the feature tests; the panel builder and frame helpers live in feature_panels.py."""

import pytest
from feature_panels import PanelBuilder


@pytest.fixture
def builder() -> PanelBuilder:
    """A one-customer quiet panel to write known events into."""
    return PanelBuilder()
