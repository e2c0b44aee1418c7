"""The four dashboards on the demo company in headless Chromium, with the network unplugged: every request
that is not to the loopback app is blocked and recorded, and the test fails if there is any."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import pytest

from salesnav import clock
from salesnav.demo.seed import seed_into
from salesnav.handlers.dashboards.leaderboard import month_label, months_before
from tests.bot.conftest import LiveApp
from tests.pages.conftest import sign_in

playwright = pytest.importorskip("playwright.sync_api")
pytestmark = pytest.mark.calendar  # the demo company, anchored to today
OUT = Path(__file__).resolve().parents[2] / "test-output" / "dashboards"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
STAGE_FILLS = ("#91caff", "#69b1ff", "#4096ff", "#1677ff", "#0958d9", "#003eb3")
PAGES = {  # who signs in, the page, what must be on it
    "exec": ("dir01", "/dashboards/exec"),
    "team": ("mgr01", "/dashboards/team"),
    "me": ("rep01", "/dashboards/me"),
    "marketing": ("mkt01", "/dashboards/marketing"),
}


@pytest.fixture
def demo(session) -> None:  # type: ignore[no-untyped-def]
    seed_into(session)
    session.commit()


def test_the_four_dashboards_render_offline_on_the_demo_data(live_pages: LiveApp, demo: None) -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    host = urlsplit(live_pages.base_url).hostname
    outside: list[str] = []
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
        try:
            for name, (userid, path) in PAGES.items():
                requests_session, landed = sign_in(live_pages.base_url, userid, path)
                assert landed.status_code == 200, (name, landed.text[:300])
                context = browser.new_context(
                    viewport={"width": 414, "height": 896},
                    device_scale_factor=2,
                    timezone_id="Asia/Shanghai",
                    locale="zh-CN",
                )
                context.add_cookies(
                    [{"name": c.name, "value": c.value, "url": live_pages.base_url} for c in requests_session.cookies]
                )

                def unplugged(route, request) -> None:  # type: ignore[no-untyped-def]
                    if urlsplit(request.url).hostname in (host, "localhost"):
                        route.continue_()
                    else:
                        outside.append(request.url)
                        route.abort()

                context.route("**/*", unplugged)
                page = context.new_page()
                errors: list[str] = []
                page.on("pageerror", lambda exc, errors=errors: errors.append(str(exc)))
                page.goto(live_pages.base_url + path, wait_until="networkidle")
                page.wait_for_timeout(800)  # ECharts animations settle
                _check(name, page)
                assert not errors, (name, errors)
                page.screenshot(path=str(OUT / f"{name}.png"), full_page=True)
                if name == "team":
                    _annotate_from_the_map(page)
                context.close()
        finally:
            browser.close()
    assert outside == [], f"requests outside the loopback app: {outside}"


def _check(name: str, page) -> None:  # type: ignore[no-untyped-def]
    if name == "exec":
        index = page.locator("#health-index .num").inner_text()
        assert 0 <= float(index) <= 100
        assert page.locator("#trend-chart svg path").count() > 4  # the trend lines are drawn
        assert page.locator("#verification tbody tr").count() == 3
        assert page.locator("#funnel-chart svg path").count() >= 3
    elif name in ("team", "me"):
        assert page.locator(".gantt svg").count() >= 1
        bars = page.locator(", ".join(f'.gantt svg path[fill="{c}"]' for c in STAGE_FILLS))
        assert bars.count() >= 1
        if name == "team":
            reds = page.locator(
                '.gantt svg path[fill="#f5222d"], .gantt svg path[fill="#cf1322"], .gantt svg path[fill="#ff4d4f"]'
            )
            assert reds.count() >= 1
            assert page.locator(".red-block").count() == reds.count()
            _assert_no_overlap([box for box in (r.bounding_box() for r in reds.all()) if box])
            assert page.locator("a.annotate").count() == page.locator(".opps li.opp").count()
        else:
            assert page.locator("#battle-pack .todo").count() >= 1
    else:
        _check_leaderboard(page)


def _check_leaderboard(page) -> None:  # type: ignore[no-untyped-def]
    """Whatever today is: the month shown is the current one, or — while nothing was won yet this month — the
    last full month, with a notice. The month picker then opens the other one of the two; the last full month
    of the demo always has its top 3."""
    current, last = _this_and_last_month()
    shown = page.locator("#month-picker select").input_value()
    notice = page.locator("#leaderboard-notice")
    if shown == last:
        assert notice.inner_text() == f"本月暂无已赢单的协同记录，显示上月（{month_label(last)}）"
    else:
        assert shown == current and notice.count() == 0
    _check_month(page, shown)
    page.screenshot(path=str(OUT / "marketing-default.png"), full_page=True)
    with page.expect_navigation():
        page.locator("#month-picker select").select_option(current if shown == last else last)
    page.wait_for_load_state("networkidle")
    page.wait_for_timeout(800)
    _check_month(page, current if shown == last else last)


def _check_month(page, month: str) -> None:  # type: ignore[no-untyped-def]
    """The month's rows as the figures have them: at most 20 (the rest behind a link), the top 3 marked and
    drawn; an empty month says so and draws no chart. The last full month has at least its top 3."""
    assert f"协同价值排行榜（{month_label(month)}）" in page.locator("h1").inner_text()
    assert page.locator("#month-picker select").input_value() == month
    expected = len(json.loads(page.locator("#figures").inner_text())["rows"])
    if month == _this_and_last_month()[1]:
        assert expected >= 3
    rows = page.locator("#leaderboard .leader-row")
    assert rows.count() == min(expected, 20)  # a long month is capped, with a link to the rest
    assert page.locator("#leaderboard-more").count() == (1 if expected > 20 else 0)
    assert page.locator("#leaderboard .leader-row.top").count() == min(expected, 3)
    if expected:
        assert page.locator("#leaderboard-chart svg path").count() >= min(expected, 3)
    else:
        assert page.locator("#leaderboard-chart").count() == 0
        assert "还没有带协同单的赢单" in page.locator("#leaderboard tr.empty").inner_text()


def _this_and_last_month() -> tuple[str, str]:
    first = clock.now().astimezone(ZoneInfo("Asia/Shanghai")).date().replace(day=1)
    return f"{first:%Y-%m}", f"{months_before(first, 1):%Y-%m}"


def _annotate_from_the_map(page) -> None:  # type: ignore[no-untyped-def]
    """A row's 批注 opens the page's dialog for that deal; sending it lands on the confirmation."""
    first = page.locator("a.annotate").first
    deal = page.locator("li.opp a.opp-link").first.inner_text()
    first.click()
    dialog = page.locator("#annotate-dialog")
    assert dialog.is_visible() and deal in dialog.locator(".deal").inner_text()
    page.screenshot(path=str(OUT / "team-annotate.png"))
    dialog.locator("textarea").fill("今天务必约主任确认样品测试时间")
    with page.expect_navigation():
        dialog.locator("button[type=submit]").click()
    assert "批注已发送给销售" in page.content()


def _assert_no_overlap(boxes: list[dict[str, float]]) -> None:
    """Red blocks that overlap in time are drawn in separate sub-lanes, so no two rectangles cover each other."""
    for i, a in enumerate(boxes):
        for b in boxes[i + 1 :]:
            width = min(a["x"] + a["width"], b["x"] + b["width"]) - max(a["x"], b["x"])
            height = min(a["y"] + a["height"], b["y"] + b["height"]) - max(a["y"], b["y"])
            assert width <= 0.5 or height <= 0.5, ("red blocks overlap", a, b)
