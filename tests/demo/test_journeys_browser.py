"""The demo's 客户旅程 pages in headless Chromium, as the demo's admin (WeCom sign-in through the emulator), on a
phone (390 px) and on a desk: the list, each journey's figures (看效果) and the builder of one, all in Chinese and
showing the history the demo played (salesnav/demo/journeys.py). Screenshots under test-output/demo/."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from salesnav.demo import journeys as demo_journeys
from salesnav.demo import seed as demo
from tests.pages.admin.conftest import browser, live  # noqa: F401  (fixtures)

pytestmark = pytest.mark.calendar

SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-output" / "demo"
SIZES = {"phone": {"width": 390, "height": 844}, "desk": {"width": 1280, "height": 900}}
# Latin letters a page may show: the product's name in the header and the names of the products it sells.
LATIN = re.compile(r"[A-Za-z]{2,}")
ALLOWED = {"SalesNav", "AI", "CT", "DR", "ICU", "Excel"}  # Excel 导入: an event a journey can start on


@pytest.fixture(params=sorted(SIZES))
def sized_page(request: Any, browser: Any) -> Iterator[tuple[str, Any]]:  # noqa: F811
    context = browser.new_context(viewport=SIZES[request.param], locale="zh-CN")
    yield request.param, context.new_page()
    context.close()


def _shot(page: Any, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def _sign_in_as_the_demo_admin(page: Any, base_url: str) -> None:
    page.goto(base_url + "/auth/login?next=/admin/journeys")
    authorize = page.url.partition("#")[0]  # the emulator's page: pick the demo's admin
    page.goto(authorize + "&userid=admin")
    page.wait_for_load_state()


def _words(page: Any) -> str:
    text = page.inner_text("body")
    assert set(LATIN.findall(text)) <= ALLOWED, text
    return text


def _figures(page: Any) -> dict[str, int]:
    text = page.inner_text("body")
    return {
        label: int(m.group(1))
        for label in ("进入", "进行中", "已完成", "超时未完成", "中途退出")
        if (m := re.search(rf"(\d+)\s*{label}", text))
    }


def test_the_demo_journeys_show_their_history(live: Any, sized_page: tuple[str, Any]) -> None:  # noqa: F811
    size, page = sized_page
    demo.seed(attachments_root=live.settings.attachments_dir)
    _sign_in_as_the_demo_admin(page, live.base_url)
    assert page.url.endswith("/admin/journeys"), page.url
    listed = _words(page)
    for name in ("白皮书下载后三部门联动", demo_journeys.TRIAL_NAME, demo_journeys.SOLUTION_NAME):
        assert name in listed
    assert "已归档的旅程" in listed and re.search(r"进入过 \d{2} 位客户", listed)
    _shot(page, f"journeys-list-{size}")

    links = page.get_by_role("link", name="看效果")
    hrefs = [links.nth(i).get_attribute("href") for i in range(links.count())]
    assert len(hrefs) == 3
    for n, href in enumerate(hrefs):
        page.goto(live.base_url + href + "?days=180")
        text = _words(page)
        figures = _figures(page)
        assert figures["进入"] > 0, text
        assert figures["进入"] == figures["进行中"] + figures["已完成"] + figures["中途退出"], figures
        assert page.locator("#steps tr[data-key]").count() >= 3
        _shot(page, f"journey-stats-{n + 1}-{size}")

    page.goto(live.base_url + hrefs[0].removesuffix("/stats") + "/edit")  # the builder opens a demo journey as set
    _words(page)
    _shot(page, f"journey-edit-{size}")
