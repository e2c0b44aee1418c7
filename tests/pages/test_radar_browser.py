"""The 雷达 page in headless Chromium (issue 20): the page's own script reports the reading time. The browser's
clock and the server's are moved together by three minutes while the page is visible; then the page is hidden,
its final beacon goes, and the rep's chat (the WeCom emulator) says 「…读了《…》3 分钟」. The network is unplugged:
nothing but the loopback app is reached."""

from __future__ import annotations

import time
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select

from salesnav.handlers import radar
from salesnav.models import Contact, MaterialView
from salesnav.models import session as db
from tests import factories as f
from tests.handlers.battle_pack.arrange import material

playwright = pytest.importorskip("playwright.sync_api")
TITLE = "AI影像辅助诊断白皮书"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"]


def _view() -> MaterialView | None:
    with db.transaction() as s:
        view = s.scalars(select(MaterialView)).first()
        if view is not None:
            s.expunge(view)
        return view


def _view_if(test):  # type: ignore[no-untyped-def]
    view = _view()
    return view if view is not None and test(view) else None


def _wait_for(page, condition, seconds: float = 10.0):  # type: ignore[no-untyped-def]
    """Poll the database while the browser works; waiting through the page lets Playwright route its requests
    (a plain sleep would hold them: the route handler runs on this thread)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if (found := condition()) is not None:
            return found
        page.wait_for_timeout(100)
    raise AssertionError(f"timed out; the view: {_view().__dict__ if _view() else None}")


def test_the_page_reports_three_minutes_of_reading_and_the_rep_is_told(session, frozen_clock, live_pages):
    org = f.org(session)
    customer = f.customer(session, org.rep, name="北京协和医院")
    contact = Contact(customer_id=customer.id, name="李明", title="设备科主任")
    session.add(contact)
    paper = material(session, TITLE, published_at=frozen_clock.now() - timedelta(days=1))
    paper.description = "三甲医院影像科的 AI 辅助诊断落地经验。"
    session.flush()
    link = radar.share_link(session, org.rep, paper.id, customer.id, contact_id=contact.id)
    session.commit()
    host = urlsplit(live_pages.base_url).hostname
    outside: list[str] = []

    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
        try:
            context = browser.new_context(
                viewport={"width": 390, "height": 844}, is_mobile=True, locale="zh-CN", timezone_id="Asia/Shanghai"
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
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.clock.install(time=frozen_clock.now())
            page.goto(link.url)
            assert page.locator("h1").inner_text() == TITLE
            assert page.locator(".description").inner_text() == "三甲医院影像科的 AI 辅助诊断落地经验。"

            live_pages.drain()
            live_pages.run_workers()
            opened = [m["payload"]["content"] for m in live_pages.emulator.sent("rep01") if m["msgtype"] == "text"]
            assert opened == [f"李主任（北京协和医院）刚打开了《{TITLE}》"]

            frozen_clock.advance(timedelta(minutes=3))  # the server's clock and the page's move together
            page.clock.run_for("03:00")  # the heartbeats of three visible minutes go out
            beat = _wait_for(page, lambda: _view_if(lambda v: v.read_seconds >= 165))
            assert beat.read_reported_at is None  # still reading

            page.evaluate(  # the contact switches away: the page is hidden
                """() => {
                    Object.defineProperty(document, "visibilityState", { value: "hidden", configurable: true });
                    document.dispatchEvent(new Event("visibilitychange"));
                }"""
            )
            done = _wait_for(page, lambda: _view_if(lambda v: v.read_reported_at is not None))
            assert 175 <= done.read_seconds <= 185
            assert not errors, errors
        finally:
            browser.close()

    live_pages.drain()
    live_pages.run_workers()
    texts = [m["payload"]["content"] for m in live_pages.emulator.sent("rep01") if m["msgtype"] == "text"]
    assert texts == [f"李主任（北京协和医院）刚打开了《{TITLE}》", f"李主任（北京协和医院）读了《{TITLE}》3 分钟"]
    assert outside == [], f"requests outside the loopback app: {outside}"
