"""The team report page and its workbook, signed in through WeCom OAuth: a manager sees exactly their team, a
director everyone, a rep nothing; typed names are escaped; headless Chromium draws it at 390 px and on a desktop
(screenshots in /tmp/report-shots)."""

from __future__ import annotations

import io
from datetime import date, timedelta
from pathlib import Path
from urllib.parse import urlsplit

import openpyxl
import pytest

from salesnav import metrics
from salesnav.handlers.reports.schedule import previous_week
from salesnav.metrics import Scope
from salesnav.models import Health
from tests import factories as f
from tests.bot.conftest import LiveApp
from tests.handlers.battle_pack.arrange import SHANGHAI, customer, local
from tests.metrics import builders
from tests.pages.conftest import sign_in

MONDAY = date(2026, 3, 2)
SHOTS = Path("/tmp/report-shots")
XSS = '<img src=x onerror="window.pwned=1">'


@pytest.fixture
def org(session, frozen_clock):
    frozen_clock.set(local(MONDAY - timedelta(days=7), 9))
    org = f.org(session)
    org.other_rep.name = f"周{XSS}"
    mine = customer(session, org.rep, "华山医院", contact=("李总", "设备科"))
    theirs = customer(session, org.outsider_rep, "协和医院", contact=("赵处", "采购处"), health=Health.RED)
    zhou = customer(session, org.other_rep, "瑞金医院", contact=("王主任", "放射科"))
    day = local(MONDAY - timedelta(days=7), 10)
    for i in range(3):
        builders.effective(session, org.rep, mine, day + timedelta(days=i))
        builders.effective(session, org.outsider_rep, theirs, day + timedelta(days=i))
    builders.effective(session, org.other_rep, zhou, day)
    builders.deal(session, org.rep, mine, [("initial_contact", day), ("solution_demo", day + timedelta(days=1))])
    builders.deal(session, org.outsider_rep, theirs, [("initial_contact", day)])
    session.commit()
    frozen_clock.set(local(MONDAY, 9))
    return org


def test_a_manager_sees_exactly_their_team_on_the_page_and_in_the_workbook(live_pages: LiveApp, org, session):
    browser, landed = sign_in(live_pages.base_url, "mgr01", "/reports/team?kind=weekly&day=2026-02-23")
    assert landed.status_code == 200, landed.text[:300]
    page = landed.text
    assert "团队周报 · 2月23日—3月1日" in page
    assert "华山医院" in page and "李销售" in page
    assert "协和医院" not in page and "吴销售" not in page
    assert XSS not in page and "周&lt;img src=x" in page  # the typed name is text, not markup
    # The article's process metrics, for the team and the week, beside their baselines and targets.
    assert "文章指标（基线 → 目标）" in page
    assert "<td>录入时长（中位数）</td>" in page and "<td>6分14秒</td><td>≤ 48秒</td>" in page
    assert "<td>31%</td><td>≥ 89%</td>" in page and "<td>26%</td><td>≥ 67%</td>" in page
    assert "<td>0.0 次/周</td><td>≥ 17.0 次/周</td>" in page

    download = browser.get(live_pages.base_url + "/reports/team.xlsx?kind=weekly&day=2026-02-23")
    assert download.status_code == 200
    assert download.headers["Content-Type"].startswith("application/vnd.openxmlformats")
    wb = openpyxl.load_workbook(io.BytesIO(download.content))
    names = {row[0] for row in wb["销售明细"].iter_rows(min_row=2, values_only=True)}
    assert names == {"李销售", f"周{XSS}"}
    assert wb["销售明细"].cell(3, 1).data_type == "s"  # a typed name is never a formula
    summary = {row[0]: row[1] for row in wb["概览"].iter_rows(min_row=2, values_only=True)}
    window = previous_week(MONDAY, SHANGHAI)
    team = Scope.team(session, org.manager)
    assert summary["有效触点/人/周"] == pytest.approx(
        metrics.effective_touchpoints_per_rep_week(session, window, team).value
    )
    assert [r[0] for r in wb["商机明细"].iter_rows(min_row=2, values_only=True)] == ["华山医院"]


def test_the_director_sees_every_rep_and_a_rep_is_refused(live_pages: LiveApp, org):
    _browser, landed = sign_in(live_pages.base_url, "dir01", "/reports/team?kind=weekly&day=2026-02-23")
    assert landed.status_code == 200
    assert "华山医院" in landed.text or "李销售" in landed.text
    assert "吴销售" in landed.text
    _browser, refused = sign_in(live_pages.base_url, "rep01", "/reports/team")
    assert refused.status_code == 403 and "您无权查看此页面" in refused.text


def test_bad_parameters_are_answered_in_chinese(live_pages: LiveApp, org):
    browser, _ = sign_in(live_pages.base_url, "mgr01", "/reports/team")
    for query, message in (
        ("kind=monthly", "报告类型只能是日报或周报"),
        ("day=2026-13-01", "日期格式应为 2026-03-02"),
        ("day=1900-01-01", "日期超出合理范围"),
    ):
        answer = browser.get(live_pages.base_url + "/reports/team?" + query)
        assert answer.status_code == 400 and message in answer.text, query
        answer = browser.get(live_pages.base_url + "/reports/team.xlsx?" + query)
        assert answer.status_code == 400 and message in answer.text, query


def _sheet(browser, url: str) -> list[tuple]:  # type: ignore[no-untyped-def]
    answer = browser.get(url)
    assert answer.status_code == 200, answer.text[:300]
    wb = openpyxl.load_workbook(io.BytesIO(answer.content))
    ws = wb.worksheets[0]
    assert ws.freeze_panes == "A2"
    return list(ws.iter_rows(min_row=2, values_only=True))


def test_list_exports_hold_what_the_viewer_may_see(live_pages: LiveApp, org):
    base = live_pages.base_url + "/reports/export/"
    manager, page = sign_in(live_pages.base_url, "mgr01", "/reports/team")
    assert "导出触点" in page.text
    touchpoints = _sheet(manager, base + "touchpoints.xlsx")
    assert {row[1] for row in touchpoints} == {"华山医院", "瑞金医院"}  # the team's, not 协和医院
    assert all(row[0].tzinfo is None and row[0].year == 2026 for row in touchpoints)  # real date cells
    assert [row[1] for row in _sheet(manager, base + f"touchpoints.xlsx?rep_id={org.rep.id}")] == ["华山医院"] * 4
    assert {row[0] for row in _sheet(manager, base + "deals.xlsx")} == {"华山医院"}
    assert {row[0] for row in _sheet(manager, base + "customers.xlsx")} == {"华山医院", "瑞金医院"}
    assert _sheet(manager, base + "tickets.xlsx") == []

    rep, _ = sign_in(live_pages.base_url, "rep03", "/reports/team")
    assert {row[0] for row in _sheet(rep, base + "deals.xlsx")} == {"协和医院"}  # a rep: their own

    for path, message in (
        ("orders.xlsx", "可以导出的列表只有商机、客户、触点、协同单和应收款"),
        ("deals.xlsx?customer_id=abc", "编号格式不正确"),
        ("deals.xlsx?status=maybe", "商机状态只能是"),
        ("touchpoints.xlsx?since=yesterday", "时间格式应为"),
    ):
        answer = manager.get(base + path)
        assert answer.status_code == 400 and message in answer.text, path


playwright = pytest.importorskip("playwright.sync_api")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"]


def test_the_report_page_draws_its_charts_at_phone_and_desktop_width(live_pages: LiveApp, org):
    SHOTS.mkdir(parents=True, exist_ok=True)
    host = urlsplit(live_pages.base_url).hostname
    requests_session, landed = sign_in(live_pages.base_url, "mgr01", "/reports/team?kind=weekly&day=2026-02-23")
    assert landed.status_code == 200
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
        try:
            for name, viewport in (
                ("phone-390", {"width": 390, "height": 844}),
                ("desktop", {"width": 1280, "height": 900}),
            ):
                context = browser.new_context(viewport=viewport, timezone_id="Asia/Shanghai", locale="zh-CN")
                context.add_cookies(
                    [{"name": c.name, "value": c.value, "url": live_pages.base_url} for c in requests_session.cookies]
                )
                context.route(
                    "**/*",
                    lambda route, request: (
                        route.continue_() if urlsplit(request.url).hostname == host else route.abort()
                    ),
                )
                page = context.new_page()
                errors: list[str] = []
                page.on("pageerror", lambda exc, errors=errors: errors.append(str(exc)))
                page.goto(live_pages.base_url + "/reports/team?kind=weekly&day=2026-02-23", wait_until="networkidle")
                page.wait_for_timeout(800)
                assert not errors, errors
                assert page.locator("#reps-chart svg path").count() >= 2  # the bars are drawn
                assert page.locator("#stages-chart svg path").count() >= 1
                assert page.evaluate("window.pwned === undefined")
                shown = []
                for bar in page.locator('#reps-chart svg path[fill="#1677ff"]').all():  # 有效触点 (and its legend)
                    if not bar.is_visible():
                        continue
                    bar.hover()
                    page.wait_for_timeout(200)
                    shown.append(page.locator(".chart-tooltip").first.inner_text())
                assert any("周<img" in text for text in shown), shown  # the typed name, as text
                assert page.evaluate("window.pwned === undefined")
                page.screenshot(path=str(SHOTS / f"team-report-{name}.png"), full_page=True)
                page.goto(live_pages.base_url + "/reports/team?kind=daily&day=2026-02-23", wait_until="networkidle")
                page.wait_for_timeout(800)
                assert not errors, errors
                assert page.locator(".card.daily").count() == 2
                page.screenshot(path=str(SHOTS / f"team-daily-{name}.png"), full_page=True)
                context.close()
        finally:
            browser.close()


def test_the_daily_page_shows_each_reps_own_daily_report_and_whether_it_was_confirmed(
    live_pages: LiveApp, org, session
):
    from salesnav.handlers.reports import daily

    daily.confirm(session, org.rep, date(2026, 2, 23), SHANGHAI)
    session.commit()
    _browser, landed = sign_in(live_pages.base_url, "mgr01", "/reports/team?kind=daily&day=2026-02-23")
    assert landed.status_code == 200
    page = landed.text
    assert "团队日报 · 2月23日（周一）" in page and "各销售日报" in page
    assert "华山医院 面访·中性 → 下一步：发送报价" in page
    assert page.count("已确认 ") == 1 and page.count("未确认") == 1  # 李 confirmed, 周 did not
    assert "协和医院" not in page
