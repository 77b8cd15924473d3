"""The files people download from the pages (AppTest on the demo bank): the Action Center's queue and today's plan
as .xlsx and .csv hold exactly the rows on screen, with every column explained, and never a held-out customer;
Risk Overview's weekly portfolio report opens as HTML and as a workbook."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable

import openpyxl
import pandas as pd
import pytest
from sqlalchemy import create_engine, text
from streamlit.runtime.media_file_manager import MediaFileManager
from streamlit.testing.v1 import AppTest

from predelinquency.report.xlsx import MEANINGS_SHEET
from tests.support.dashboard import APP


@pytest.fixture
def downloads(monkeypatch: pytest.MonkeyPatch) -> dict[str, Callable[[], bytes]]:
    """file name → the function the page gave its download button (Streamlit calls it when the button is clicked)."""
    made: dict[str, Callable[[], bytes]] = {}
    original = MediaFileManager.add_deferred

    def record(self, data_callable, mimetype, coordinates, file_name=None, **kwargs):
        made[file_name] = data_callable
        return original(self, data_callable, mimetype, coordinates, file_name, **kwargs)

    monkeypatch.setattr(MediaFileManager, "add_deferred", record)
    return made


def _page(user, path: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    at.session_state["user"] = user
    at.run()
    at.switch_page(path).run()
    assert not at.exception, at.exception
    return at


def _file(downloads: dict, prefix: str, suffix: str) -> bytes:
    (name,) = [n for n in downloads if n.startswith(prefix) and n.endswith(suffix)]
    return downloads[name]()


def _xlsx(data: bytes) -> tuple[pd.DataFrame, list[tuple], openpyxl.Workbook]:
    book = openpyxl.load_workbook(io.BytesIO(data))
    rows = list(book.worksheets[0].iter_rows(values_only=True))
    meanings = list(book[MEANINGS_SHEET].iter_rows(min_row=2, values_only=True))
    return pd.DataFrame(rows[1:], columns=rows[0]), meanings, book


def _csv(data: bytes) -> pd.DataFrame:
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    return pd.DataFrame(rows[1:], columns=rows[0])


def _held_out_today(url: str) -> set[int]:
    eng = create_engine(url)
    with eng.connect() as c:
        held = c.execute(text("SELECT customer_id FROM contact_plan WHERE arm = 'holdout' "
                              "AND business_date = pde_business_date()")).scalars().all()
    eng.dispose()
    return set(held)


def _same_rows(screen: pd.DataFrame, book: pd.DataFrame, flat: pd.DataFrame) -> None:
    """The file holds the table's rows in its order, with its columns and values (PD as a probability)."""
    assert list(book.columns) == list(screen.columns) == list(flat.columns)
    assert book["Customer"].tolist() == screen["Customer"].tolist() == [int(c) for c in flat["Customer"]]
    assert book["Name"].tolist() == screen["Name"].tolist() == flat["Name"].tolist()
    assert book["Tier"].tolist() == screen["Tier"].tolist() == flat["Tier"].tolist()
    assert book["Score"].tolist() == screen["Score"].tolist()
    assert book["PD"].tolist() == pytest.approx((screen["PD"] / 100).tolist())
    assert [float(x) for x in flat["Expected loss"]] == pytest.approx(screen["Expected loss"].tolist())
    assert book["Plan"].tolist() == screen["Plan"].map({"★": "Yes", "": None}).tolist()


def test_the_queue_downloads_hold_the_rows_on_screen_and_explain_every_column(users, demo, downloads):
    at = _page(users["officer"], "app_pages/action_center.py")
    screen = at.dataframe[0].value
    assert len(screen) > 0
    book, meanings, wb = _xlsx(_file(downloads, "queue-", ".xlsx"))
    flat = _csv(_file(downloads, "queue-", ".csv"))
    _same_rows(screen, book, flat)
    assert [m[1] for m in meanings] == list(screen.columns) and all(m[2] for m in meanings)
    sheet = wb.worksheets[0]
    assert sheet.freeze_panes == "A2"
    header = [c.value for c in sheet[1]]
    pd_cell = sheet.cell(row=2, column=header.index("PD") + 1)
    loss_cell = sheet.cell(row=2, column=header.index("Expected loss") + 1)
    assert isinstance(pd_cell.value, float) and pd_cell.number_format == "0.00%"
    assert isinstance(loss_cell.value, float) and loss_cell.number_format.startswith('"€"')
    assert not set(book["Customer"]) & _held_out_today(demo)  # the control group is in nobody's file

    next(t for t in at.multiselect if t.label == "Tier").set_value(["Critical", "High"]).run()
    filtered = at.dataframe[0].value
    assert set(filtered["Tier"]) <= {"Critical", "High"} and len(filtered) < len(screen)
    _same_rows(filtered, _xlsx(_file(downloads, "queue-", ".xlsx"))[0], _csv(_file(downloads, "queue-", ".csv")))


def test_todays_plan_downloads_hold_what_the_plan_view_shows(users, demo, downloads):
    at = _page(users["officer"], "app_pages/action_center.py")
    plan_book = _xlsx(_file(downloads, "plan-", ".xlsx"))
    plan_csv = _csv(_file(downloads, "plan-", ".csv"))
    next(t for t in at.toggle if t.label == "Today's plan only").set_value(True).run()
    screen = at.dataframe[0].value
    assert len(screen) > 0 and set(screen["Plan"]) == {"★"}
    # each planned customer says why, in plain words
    assert all("expected to lower this customer's chance of missing from" in w for w in screen["Why"])
    _same_rows(screen, plan_book[0], plan_csv)
    assert plan_book[2].sheetnames == ["Today's plan", MEANINGS_SHEET]
    assert not set(plan_book[0]["Customer"]) & _held_out_today(demo)
    eng = create_engine(demo)
    with eng.connect() as c:
        planned = c.execute(text("SELECT customer_id FROM contact_plan WHERE arm = 'contact' "
                                 "AND business_date = pde_business_date() ORDER BY rank")).scalars().all()
    eng.dispose()
    assert set(plan_book[0]["Customer"]) == set(planned)  # nobody contacted yet today
    assert list(screen["Customer"]) == list(planned)  # in the plan's order: highest expected net benefit first


def test_risk_overview_downloads_the_weekly_portfolio_report(users, demo, downloads):
    at = _page(users["manager"], "app_pages/risk_overview.py")
    assert {b.label for b in at.download_button} >= {"Weekly report (.html)", "Weekly report (.xlsx)"}
    page = _file(downloads, "portfolio-", ".html").decode("utf-8")
    for section in ("summary", "tiers", "rising", "interventions", "drift", "fairness"):
        assert f'<section id="{section}">' in page
    book = openpyxl.load_workbook(io.BytesIO(_file(downloads, "portfolio-", ".xlsx")))
    assert book.sheetnames[0] == "Summary" and book.sheetnames[-1] == MEANINGS_SHEET
    tiers = {r[0]: r[2] for r in book["Tiers"].iter_rows(min_row=2, values_only=True)}
    eng = create_engine(demo)
    with eng.connect() as c:
        counts = dict(c.execute(text(
            "SELECT tier, count(*) FROM risk_scores rs JOIN model_versions m ON m.version = rs.model_version "
            "WHERE m.status = 'champion' AND rs.as_of = (SELECT max(as_of) FROM risk_scores) GROUP BY tier")).all())
    eng.dispose()
    assert {t: n for t, n in tiers.items() if n} == counts
