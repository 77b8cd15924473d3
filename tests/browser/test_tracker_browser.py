"""The Interventions Tracker in headless Chromium: measured effects with their interval, and the weekly chart of
contacted against held-out miss rates drawn by the browser."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import text

from tests.support.dashboard import add_settled_plans, assert_clean, log_in, open_page, screenshot

pytestmark = pytest.mark.browser


def test_tracker_shows_measured_uplift_and_the_weekly_chart(server, browser):
    with server["engine"].begin() as c:
        today = c.execute(text("SELECT pde_business_date()")).scalar_one()
        add_settled_plans(c, today - timedelta(days=120), weeks=7, truth=True)
    page = log_in(browser, server["url"], "lead_manager")
    open_page(page, "Interventions Tracker")
    assert_clean(page, "Interventions Tracker")
    uplift = page.locator('[data-testid="stMetric"]', has_text="Uplift").first
    assert "+20.0 pts" in uplift.inner_text() and "95 % CI [+" in uplift.inner_text()
    chart = page.locator('[data-testid="stPlotlyChart"]').first
    chart.scroll_into_view_if_needed()
    chart.locator(".scatterlayer .trace").nth(1).wait_for()  # both arms drawn, as lines with markers
    assert chart.locator(".scatterlayer .trace").count() == 2
    assert "Miss rates by week" in chart.inner_text()
    legend = chart.locator(".legend").first.text_content()
    assert "Contacted" in legend and "Held out" in legend
    assert page.get_by_text("Control group:").first.is_visible()
    screenshot(page, "interventions_tracker_measured")
    # the pages the closed loop changed, measured figures included, render cleanly too
    for title, shows in (("Action Center", "contacts a day made so far"), ("Risk Overview", "Measured uplift"),
                         ("Data Management", "Advance the bank N days")):
        open_page(page, title)
        assert_clean(page, title)
        assert page.get_by_text(shows).first.is_visible(), f"{title}: '{shows}' is not shown"
        screenshot(page, f"closed_loop_{title.replace(' ', '_').lower()}")
    page.close()
