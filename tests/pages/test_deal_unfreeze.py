"""解除冻结 from the deal's page: the battle map marks a frozen deal and links to its page, where a director (or
admin) lifts the freeze with a reason (CSRF-protected form, the same `lift_freeze` as every other channel);
a manager sees why it is frozen and who may lift it, and a forged post is refused in Chinese."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import requests
from playwright.sync_api import sync_playwright
from sqlalchemy import select

from salesnav.models import AuditEntry, Opportunity
from salesnav.models import session as db
from tests import factories as f
from tests.bot.conftest import LiveApp
from tests.pages.conftest import sign_in
from tests.rules.arrange import frozen_deal

REASON = "客户已签预付款协议，首付30%"


@pytest.fixture
def frozen(session, frozen_clock, live_pages: LiveApp) -> tuple[f.Org, int]:  # type: ignore[no-untyped-def]
    org = f.org(session)
    session.commit()
    opp_id = frozen_deal(session, org, live_pages.drain)
    frozen_clock.advance(timedelta(hours=2))  # the deal has a visible stretch on this week's map
    return org, opp_id


def _token(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)  # type: ignore[union-attr]


def _frozen(opp_id: int) -> bool:
    with db.transaction() as s:
        return s.get(Opportunity, opp_id).approval_frozen


def test_the_battle_map_marks_the_frozen_deal_and_its_page_says_who_may_lift_it(live_pages: LiveApp, frozen) -> None:  # type: ignore[no-untyped-def]
    org, opp_id = frozen
    deal_page = f"/dashboards/opportunities/{opp_id}"
    browser, team = sign_in(live_pages.base_url, "mgr01", "/dashboards/team")
    assert team.status_code == 200
    assert re.search(rf'<a class="tag bad frozen" href="{deal_page}\?back=[^"]*#freeze">审批冻结</a>', team.text)

    page = browser.get(live_pages.base_url + deal_page)
    assert page.status_code == 200
    assert "审批已冻结" in page.text and "客户近 12 个月按时回款率 75.0%" in page.text
    assert "只有销售总监或管理员可以解除冻结。" in page.text and 'name="reason"' not in page.text

    forged = browser.post(
        live_pages.base_url + deal_page + "/unfreeze", data={"reason": REASON, "csrf_token": _token(page.text)}
    )
    assert forged.status_code == 403 and "只有销售总监或管理员可以解除审批冻结" in forged.text
    assert _frozen(opp_id)

    director, _ = sign_in(live_pages.base_url, "dir01")
    to_team = director.get(live_pages.base_url + f"/dashboards/team?manager={org.manager.id}")
    assert f"{deal_page}?back=" in to_team.text  # the director reaches the deal from the team's battle map
    director_page = director.get(live_pages.base_url + deal_page)
    assert 'name="reason"' in director_page.text and "解除冻结</button>" in director_page.text


def test_the_form_needs_a_session_a_csrf_token_and_a_reason(live_pages: LiveApp, frozen) -> None:  # type: ignore[no-untyped-def]
    _, opp_id = frozen
    url = live_pages.base_url + f"/dashboards/opportunities/{opp_id}/unfreeze"
    director, page = sign_in(live_pages.base_url, "dir01", f"/dashboards/opportunities/{opp_id}")
    token = _token(page.text)
    assert director.post(url, data={"reason": REASON}).status_code == 400  # no token
    assert requests.post(url, data={"reason": REASON, "csrf_token": token}, allow_redirects=False).status_code == 401
    blank = director.post(url, data={"reason": "  ", "csrf_token": token})
    assert blank.status_code == 200 and "请填写解除冻结的理由" in blank.text
    assert _frozen(opp_id)


def test_a_director_lifts_the_freeze_from_the_deals_page_in_the_browser(live_pages: LiveApp, frozen) -> None:  # type: ignore[no-untyped-def]
    org, opp_id = frozen
    cookies, _ = sign_in(live_pages.base_url, "dir01", f"/dashboards/opportunities/{opp_id}")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox", "--disable-gpu"])
        try:
            context = browser.new_context(locale="zh-CN", timezone_id="Asia/Shanghai")
            context.add_cookies(
                [{"name": c.name, "value": c.value, "url": live_pages.base_url} for c in cookies.cookies]
            )
            page = context.new_page()
            page.goto(live_pages.base_url + f"/dashboards/opportunities/{opp_id}")
            page.locator("#unfreeze-reason").fill(REASON)
            with page.expect_navigation():
                page.get_by_role("button", name="解除冻结").click()
            flash = page.locator(".flash.ok").inner_text()
            assert flash.startswith(
                "已解除客户「协和医院」的商机「CT球管更换」的审批冻结，理由已记录，已通知李销售、钱主管。"
            )
            assert page.locator("#freeze h2").inner_text() == "信用校验"
            assert REASON in page.locator("#freeze").inner_text()
        finally:
            browser.close()

    assert not _frozen(opp_id)
    with db.transaction() as s:
        entry = s.scalars(select(AuditEntry).where(AuditEntry.action == "approval_unfreeze")).one()
        assert (entry.actor_id, entry.after["lift_reason"], entry.after["channel"]) == (org.director.id, REASON, "page")
    live_pages.drain()
    told = [m["payload"]["content"] for m in live_pages.emulator.sent("rep01") if m["msgtype"] == "text"]
    assert told[-1].startswith("【审批冻结已解除】销售总监赵总监已解除客户「协和医院」的商机「CT球管更换」")
