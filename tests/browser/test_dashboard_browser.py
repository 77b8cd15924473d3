"""The real dashboard in headless Chromium: every page renders without errors, and an officer's work —
an intervention, an assignment, an outcome — lands in the database with its audit rows."""

from __future__ import annotations

import re
import time

import pytest
from sqlalchemy import text

from tests.support.dashboard import assert_clean, log_in, open_page, screenshot, select_first_row, settle

pytestmark = pytest.mark.browser
# each page and text that proves its main content rendered
PAGES = {
    "Action Center": ["Priority queue", "1 · Act now", "Select a row to act on it"],
    "Customer Deep Dive": ["Find a customer"],
    "Interventions Tracker": ["What contacts prevent"],
    "Risk Overview": ["Customers scored", "Measured uplift", "Rising-risk customers"],
    "Real-time Monitor": ["Recent score changes", "Batch runs", "Activity log"],
    "Model Performance": ["Models to compare", "Drift (population stability index)", "Promotion"],
    "Data Management": ["Run history", "Upload bank files (CSV)"],
}


@pytest.fixture(scope="module")
def manager_page(server, browser):
    page = log_in(browser, server["url"], "lead_manager")
    yield page
    page.close()


def test_every_page_renders_cleanly(server, manager_page):
    page = manager_page
    for title, must_show in PAGES.items():
        open_page(page, title)
        assert_clean(page, title)
        for text_ in must_show:
            assert page.get_by_text(text_).first.is_visible(), f"{title}: '{text_}' is not shown"
        screenshot(page, title.replace(" ", "_").lower())
    assert "Maya Lindqvist" in page.inner_text('[data-testid="stSidebar"]')


def test_officer_work_is_written_with_audit_rows(server, manager_page):
    page, eng = manager_page, server["engine"]
    # 1. an intervention on the top customer of the Action Center queue
    open_page(page, "Action Center")
    select_first_row(page, page.locator('[data-testid="stDataFrame"]').first)
    page.get_by_role("button", name="Open deep dive").wait_for()
    page.get_by_role("button", name="Create intervention").click()
    done = page.get_by_text(re.compile(r"Intervention \d+ .* created for")).first
    done.wait_for()
    intervention_id = int(re.search(r"Intervention (\d+)", done.inner_text()).group(1))
    settle(page)
    assert_clean(page, "Action Center after creating an intervention")
    with eng.connect() as c:
        iv = c.execute(text("SELECT customer_id, status, created_by, due_at > pde_business_now() AS has_sla "
                            "FROM interventions WHERE intervention_id = :i"), {"i": intervention_id}).one()
    assert iv.status == "open" and iv.has_sla and iv.created_by == server["users"]["manager"].user_id
    screenshot(page, "action_center_after_intervention")

    # 2. that customer assigned to the officer, from the Customer Deep Dive
    open_page(page, "Customer Deep Dive")
    page.get_by_role("textbox", name="Find a customer").fill(str(iv.customer_id))
    page.get_by_role("textbox", name="Find a customer").press("Enter")
    page.get_by_text("Act on this customer").wait_for()
    settle(page)
    assert_clean(page, "Customer Deep Dive")
    screenshot(page, "customer_deep_dive_customer")
    page.get_by_role("tab", name=re.compile("Assign")).click()
    page.get_by_label("Officer", exact=True).click()
    page.get_by_role("option", name=re.compile("Olivia Grant")).click()
    page.get_by_role("button", name="Assign", exact=True).click()
    page.get_by_text(re.compile("is now assigned to olivia")).first.wait_for()
    settle(page)

    # 3. the contact's result, from the Interventions Tracker
    open_page(page, "Interventions Tracker")
    select_first_row(page, page.locator('[data-testid="stDataFrame"]').last)
    page.get_by_role("button", name="Record contact result").click()
    page.get_by_text(re.compile(rf"Contact result 'Reached' recorded for intervention {intervention_id}")
                     ).first.wait_for()
    settle(page)
    assert_clean(page, "Interventions Tracker after recording an outcome")
    screenshot(page, "interventions_tracker_after_outcome")

    with eng.connect() as c:
        officer = c.execute(text("SELECT u.username FROM customer_assignments a "
                                 "JOIN users u ON u.user_id = a.officer_id "
                                 "WHERE a.customer_id = :c AND a.ended_at IS NULL"), {"c": iv.customer_id}).scalar()
        outcome = c.execute(text("SELECT o.outcome, i.status FROM intervention_outcomes o "
                                 "JOIN interventions i USING (intervention_id) WHERE intervention_id = :i"),
                            {"i": intervention_id}).one()
        audit = c.execute(text("SELECT action, entity_id FROM action_audit_log WHERE actor = 'lead_manager' "
                               "AND action <> 'login' ORDER BY audit_id")).all()
    assert officer == "olivia"
    assert tuple(outcome) == ("reached", "completed")
    assert [a.action for a in audit] == ["create_intervention", "assign_customer", "record_outcome"]
    assert audit[0].entity_id == audit[2].entity_id == str(intervention_id)
    assert audit[1].entity_id == str(iv.customer_id)


def test_background_job_reports_its_progress_or_failure(server, manager_page):
    page, eng = manager_page, server["engine"]
    open_page(page, "Data Management")
    with eng.connect() as c:
        before = c.execute(text("SELECT coalesce(max(run_id), 0) FROM batch_runs")).scalar_one()
    page.get_by_role("button", name="Run nightly scoring").click()
    page.get_by_text("started in the background").first.wait_for()
    # the job runs in its own process; its card polls batch_runs (or the job's own log if it never got there)
    card = page.locator('[data-testid="stVerticalBlock"]', has_text="Run nightly scoring").last
    deadline = time.monotonic() + 150
    while True:
        shown = card.inner_text()
        ended = re.search(r"Run (\d+) (succeeded|failed)", shown)
        if "exit status" in shown or (ended and int(ended.group(1)) > before):
            break
        assert time.monotonic() < deadline, f"the nightly job never reported an end: {shown[-500:]}"
        time.sleep(1)
    assert_clean(page, "Data Management")
    screenshot(page, "data_management_job")
    with eng.connect() as c:
        started = c.execute(text("SELECT count(*) FROM action_audit_log WHERE action = 'start_job' "
                                 "AND actor = 'lead_manager' AND after->>'kind' = 'nightly'")).scalar_one()
    assert started == 1


def test_officer_sees_no_manager_controls(server, browser):
    page = log_in(browser, server["url"], "olivia")
    open_page(page, "Data Management")
    assert page.get_by_role("button", name="Retrain the model").is_disabled()
    assert "Only managers and admins can upload bank data" in page.inner_text("body")
    open_page(page, "Model Performance")
    assert page.get_by_role("button", name="Promote to champion").count() == 0
    page.close()


def test_csv_upload_reports_bad_rows_then_loads_good_files(server, manager_page):
    page, eng = manager_page, server["engine"]
    header = b"customer_id,full_name,age,employment_type,segment,region,monthly_income,tenure_months\n"
    bad = header + (b"900001,Nora Quinn,44,salaried,mass,North,2800,30\n"
                    b"900002,Omar Reyes,abc,salaried,mass,East,3100,12\n")
    open_page(page, "Data Management")
    uploader = page.locator('[data-testid="stFileUploaderDropzoneInput"]').first
    uploader.set_input_files(files=[{"name": "customers.csv", "mimeType": "text/csv", "buffer": bad}])
    settle(page)
    page.get_by_role("button", name="Check files").click()
    page.get_by_text("1 problem(s) in 2 rows").wait_for()
    page.get_by_text(re.compile(r"column age: 1 row\(s\) — not a whole number, first at line 3")).wait_for()
    settle(page)
    screenshot(page, "data_management_upload_rejected")
    good = bad.replace(b"abc", b"39")
    uploader.set_input_files(files=[{"name": "customers.csv", "mimeType": "text/csv", "buffer": good}])
    settle(page)  # the new file must have reached the server before it is checked, or the old one is
    page.get_by_role("button", name="Check files").click()
    page.get_by_role("button", name="Load 2 rows into the database").click()
    page.get_by_text("Loaded 2 customers").first.wait_for()
    settle(page)
    assert_clean(page, "Data Management after an upload")
    with eng.connect() as c:
        loaded = c.execute(text("SELECT count(*) FROM customers WHERE customer_id IN (900001, 900002)")).scalar_one()
        audit = c.execute(text("SELECT after FROM action_audit_log WHERE action = 'upload_data'")).scalar_one()
    assert loaded == 2 and audit["rows"] == {"customers": 2}
