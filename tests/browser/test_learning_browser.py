"""The learning pages in headless Chromium, with data: Model Performance's uplift section (the versions, Qini
curves learned vs configured rates vs random drawn by the browser, the promotion for managers only) and the
Interventions Tracker's policy backtest (the six policies, the oracle, the stored figures, the assumptions).

The bank is a copy of the session's advanced bank where two uplift models were trained (a champion, and a
challenger to promote) and a short policy backtest stored, as `pde train --effects` and `pde backtest policy` do.
The uplift models' files go to a private data directory, which the dashboard gets too; the PD champion's files
stay the session's, read through their registered path.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import text

from dashboard.ui import money, num
from predelinquency.loop.backtest.run import backtest_policy
from predelinquency.model.uplift.train import train_effects
from tests.browser.conftest import serve
from tests.model.uplift.conftest import MIN_OUTCOMES, uplift_settings
from tests.support.bank import AdvancedBank
from tests.support.dashboard import assert_clean, log_in, open_page, screenshot, settle

pytestmark = pytest.mark.browser
DAYS, CAPACITY = 12, 8   # a short backtest: the page shows what is stored, whatever its size


@pytest.fixture(scope="module")
def learning(pg_server_url: str, advanced_bank: AdvancedBank,
             tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    """The dashboard on the advanced bank with a champion and a challenger uplift model and a stored backtest."""
    data_dir = tmp_path_factory.mktemp("learning") / "data"
    with serve(pg_server_url, advanced_bank.template, data_dir,
               {"PDE_UPLIFT__MIN_OUTCOMES": str(MIN_OUTCOMES)}, tmp_path_factory) as s:
        # written once the dashboard is up: it reads nothing before a browser opens a page
        settings = uplift_settings(s["db"], data_dir)
        champion = train_effects(s["engine"], settings, "system:test")
        challenger = train_effects(s["engine"], settings, "system:test")
        backtest_policy(s["engine"], settings, DAYS, CAPACITY, actor="system:test")
        yield {**s, "champion": champion["version"], "challenger": challenger["version"]}


def _table(page, column: str) -> list[list[str]]:
    """The cells of the st.dataframe with that column, header first, as its accessible grid gives them."""
    grid = page.locator('[data-testid="stDataFrame"]', has_text=column).first
    grid.scroll_into_view_if_needed()
    return [[c.text_content() for c in row.locator("th, td").all()] for row in grid.locator("tr").all()]


def _clean(page, title: str) -> None:
    """assert_clean, and no error box either (a guarded section shows its failure as one)."""
    assert_clean(page, title)
    errors = page.locator('[data-testid="stAlertContentError"]')
    assert errors.count() == 0, f"{title}: error shown: {errors.first.inner_text()}"


def test_manager_sees_the_uplift_models_their_qini_curves_and_promotes_the_challenger(learning, browser):
    with learning["engine"].connect() as c:
        stored = {r.version: r for r in c.execute(text("SELECT version, status, outcomes, metrics "
                                                       "FROM uplift_versions"))}
    assert {r.status for r in stored.values()} == {"champion", "challenger"}
    page = log_in(browser, learning["url"], "lead_manager")
    open_page(page, "Model Performance")
    _clean(page, "Model Performance")
    page.get_by_role("heading", name="Effects of contacts (uplift model)").scroll_into_view_if_needed()
    versions = _table(page, "Outcomes learned from")
    assert versions[0][:4] == ["Version", "Status", "Trained", "Outcomes learned from"]
    assert sorted((v, s, int(n)) for v, s, _, n, *_ in versions[1:]) == sorted(
        (r.version, r.status, r.outcomes) for r in stored.values())
    # the figures of the version picked (the champion first): one row per action, learned ones weighted
    picker = page.get_by_role("combobox", name="Uplift model")
    assert picker.input_value() == f"{learning['champion']} · champion"
    actions = stored[learning["champion"]].metrics["actions"]
    figures = _table(page, "Weight of learned")
    assert len(figures) == 1 + len(actions)
    assert any(row[1] not in ("0%", "—") for row in figures[1:]), "no action's effect was learned"
    # a Qini chart per action tested (three at most), each drawn with its three curves
    tested = [a for a, f in actions.items() if (f.get("learned") or {}).get("curve")]
    charts = page.locator('[data-testid="stPlotlyChart"]', has_text="Qini curve")
    assert charts.count() == min(len(tested), 3) > 0
    for i in range(charts.count()):
        chart = charts.nth(i)
        chart.scroll_into_view_if_needed()
        chart.locator(".scatterlayer .trace").nth(2).wait_for()
        assert chart.locator(".scatterlayer .trace").count() == 3
        assert chart.locator(".legend").first.text_content() == "LearnedConfigured ratesRandom"
        lines = chart.locator(".scatterlayer .trace path.js-line").all()
        assert len(lines) == 3 and all(line.get_attribute("d") for line in lines)
    promote = page.get_by_role("button", name="Promote uplift model")
    promote.scroll_into_view_if_needed()
    assert page.get_by_role("combobox", name="Uplift challenger").input_value() == learning["challenger"]
    assert promote.is_disabled()  # until the manager confirms the comparison
    screenshot(page, "model_performance_uplift")
    page.get_by_text("I have compared its Qini with the champion's").click()
    settle(page)
    promote.click()
    page.get_by_text(f"Uplift model {learning['challenger']} is now the champion (previous: "
                     f"{learning['champion']})").first.wait_for()
    with learning["engine"].connect() as c:
        assert c.execute(text("SELECT version FROM uplift_versions WHERE status = 'champion'")).scalar_one() == \
            learning["challenger"]
    page.close()


def test_an_officer_sees_the_uplift_models_but_cannot_promote_them(learning, browser):
    page = log_in(browser, learning["url"], "olivia")
    open_page(page, "Model Performance")
    _clean(page, "Model Performance")
    page.get_by_role("heading", name="Effects of contacts (uplift model)").scroll_into_view_if_needed()
    assert page.locator('[data-testid="stPlotlyChart"]', has_text="Qini curve").count() > 0
    assert page.get_by_text("Only managers and admins can promote an uplift challenger to champion.").is_visible()
    assert page.get_by_role("button", name="Promote uplift model").count() == 0
    page.close()


def test_tracker_shows_the_stored_policy_backtest(learning, browser):
    with learning["engine"].connect() as c:
        row = c.execute(text("SELECT days, capacity, model_version, uplift_version, result FROM policy_backtests"
                             )).one()
    result = row.result
    assert (row.days, row.capacity) == (DAYS, CAPACITY) and row.uplift_version == learning["champion"]
    page = log_in(browser, learning["url"], "lead_manager")
    open_page(page, "Interventions Tracker")
    _clean(page, "Interventions Tracker")
    page.get_by_role("heading", name="Policy backtest").scroll_into_view_if_needed()
    body = page.inner_text("body")
    assert (f"{DAYS} plan days, {CAPACITY} contacts a day, {result['customers']:,} customers; PD model "
            f"{row.model_version}, uplift model {row.uplift_version}.") in body
    chart = page.locator('[data-testid="stPlotlyChart"]', has_text="Net benefit by policy")
    chart.scroll_into_view_if_needed()
    chart.locator(".barlayer .trace").nth(1).wait_for()
    assert chart.locator(".legend").first.text_content() == "RealisedExpected"
    names = ["No contact", "K at random", "Top K by PD", "Top K by expected loss", "The engine",
             "Oracle (true effects)"]
    assert chart.locator(".xtick").all_text_contents() == names
    # the table: the stored figures of every policy, as the page formats money (€1,234, -€738)
    table = _table(page, "Expected net benefit")
    assert table[0] == ["Policy", "Contacts", "Missed", "Prevented defaults", "Per 100 contacts", "Prevented loss",
                        "Contact cost", "Net benefit", "Expected net benefit"]
    shown = {r[0]: r for r in table[1:]}
    assert list(shown) == names
    for policy, name in zip(("none", "random", "pd_top_k", "el_top_k", "engine", "oracle"), names, strict=True):
        f = result["policies"][policy]
        assert shown[name][1:4] == [str(f["contacts"]), str(f["missed"]), str(f["prevented_defaults"])], name
        assert shown[name][4] == num(f["prevented_per_100_contacts"], 1), name  # "—" when nobody is contacted
        assert shown[name][7:9] == [money(f["net_benefit"]), money(f["expected_net_benefit"])], name
    assert result["policies"]["engine"]["contacts"] > 0 and shown["No contact"][4] == "—"
    ratio = result["engine_vs_pd_top_k"]["net_benefit"]
    card = page.locator('[data-testid="stMetric"]', has_text="Engine vs top K by PD").inner_text()
    assert card.endswith("n/a" if ratio is None else f"{ratio:.2f}×")
    page.get_by_text("How the backtest counts").click()
    for assumption in result["assumptions"]:
        page.get_by_text(assumption, exact=True).wait_for()
    assert len(result["assumptions"]) >= 5
    screenshot(page, "interventions_tracker_backtest")
    page.close()
