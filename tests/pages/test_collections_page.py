"""The collections book page (/reports/collections): signed in through WeCom OAuth, a manager sees their team's
open receivables aged in buckets with the credit check's on-time rate, a rep their own, one customer's with
customer_id; the deal page shows its contract and instalments; headless Chromium at 390 px and on a desktop
(screenshots in /tmp/report-shots)."""

from __future__ import annotations

import io
from datetime import date, timedelta
from pathlib import Path
from urllib.parse import urlsplit

import openpyxl
import pytest

from salesnav.handlers import contracts
from salesnav.handlers.contracts import PlannedInstalment
from salesnav.models import Receivable
from tests import factories as f
from tests.bot.conftest import LiveApp
from tests.handlers.battle_pack.arrange import customer, local, won_deal
from tests.pages.conftest import sign_in

SIGNED = date(2026, 1, 5)
TODAY = date(2026, 4, 20)
SHOTS = Path("/tmp/report-shots")
XSS = '<img src=x onerror="window.pwned=1">'


@pytest.fixture
def org(session, frozen_clock):
    frozen_clock.set(local(SIGNED, 9))
    org = f.org(session)
    ruijin = customer(session, org.rep, f"瑞金医院{XSS}")
    deal = won_deal(
        session,
        org.rep,
        ruijin,
        product_line="MR设备",
        start=local(SIGNED - timedelta(days=60), 9),
        days=[0, 10, 20, 30, 40, 50],
    )
    contracts.save_contract(
        session,
        org.rep,
        deal.id,
        amount_fen=100_000_000,
        signed_on=SIGNED,
        contract_no="HT-9",
        plan=[
            PlannedInstalment(30_000_000, date(2026, 1, 31)),  # 79 days overdue on TODAY
            PlannedInstalment(50_000_000, date(2026, 3, 31)),  # 20 days
            PlannedInstalment(20_000_000, date(2026, 12, 31)),
        ],
    )
    theirs = customer(session, org.outsider_rep, "协和医院")
    session.add(Receivable(customer_id=theirs.id, amount_fen=9_900_000, due_date=date(2026, 2, 1)))
    session.commit()
    frozen_clock.set(local(TODAY, 9))
    org.deal_id, org.customer_id = deal.id, ruijin.id
    return org


def test_a_manager_sees_the_teams_receivables_aged_and_a_customer_alone(live_pages: LiveApp, org):
    browser, landed = sign_in(live_pages.base_url, "mgr01", "/reports/collections")
    assert landed.status_code == 200, landed.text[:300]
    page = landed.text
    assert "回款台账" in page and "第 1 期（合同 HT-9）" in page and "逾期 79 天" in page and "逾期 20 天" in page
    assert "协和医院" not in page  # another team's
    assert XSS not in page and "瑞金医院&lt;img" in page
    buckets = (
        "<td>1 笔<br>¥200,000.00</td><td>1 笔<br>¥500,000.00</td><td>0 笔<br>¥0.00</td><td>1 笔<br>¥300,000.00</td>"
    )
    assert buckets + "<td>0 笔<br>¥0.00</td>" in page  # 未到期, 1–30, 31–60, 61–90, 90 天以上
    assert "¥800,000.00" in page  # overdue in all
    one = browser.get(live_pages.base_url + f"/reports/collections?customer_id={org.customer_id}")
    assert one.status_code == 200 and "与信用校验同口径" in one.text
    assert "应收款（¥300,000.00）2026-01-31 到期，至今未回款，已逾期 79 天" in one.text
    bad = browser.get(live_pages.base_url + "/reports/collections?customer_id=abc")
    assert bad.status_code == 400 and "客户编号格式不正确" in bad.text
    _rep, theirs = sign_in(live_pages.base_url, "rep03", "/reports/collections")
    assert "协和医院" in theirs.text and "瑞金医院" not in theirs.text
    hidden = _rep.get(live_pages.base_url + f"/reports/collections?customer_id={org.customer_id}")
    assert hidden.status_code == 404 and "客户不存在或您无权查看" in hidden.text

    sheet = browser.get(live_pages.base_url + "/reports/export/receivables.xlsx")
    assert sheet.status_code == 200, sheet.text[:300]
    ws = openpyxl.load_workbook(io.BytesIO(sheet.content)).worksheets[0]
    assert ws.freeze_panes == "A2"
    rows = list(ws.iter_rows(min_row=2, values_only=True))
    assert [(r[3], r[4].date(), r[7], r[8], r[9]) for r in rows] == [
        ("第 1 期（合同 HT-9）", date(2026, 1, 31), 300_000, 79, "61–90 天"),
        ("第 2 期（合同 HT-9）", date(2026, 3, 31), 500_000, 20, "1–30 天"),
        ("第 3 期（合同 HT-9）", date(2026, 12, 31), 200_000, 0, "未到期"),
    ]  # the team's only: not 协和医院's
    assert ws.cell(2, 1).data_type == "s"  # a typed name is text, never a formula

    deal = browser.get(live_pages.base_url + f"/dashboards/opportunities/{org.deal_id}")
    assert deal.status_code == 200 and "合同与回款" in deal.text and "逾期回款 ¥800,000.00" in deal.text
    report = browser.get(live_pages.base_url + "/reports/team?kind=daily")
    assert report.status_code == 200 and "逾期回款" in report.text and "¥800,000" in report.text


playwright = pytest.importorskip("playwright.sync_api")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"]


def test_the_collections_page_at_phone_and_desktop_width(live_pages: LiveApp, org):
    SHOTS.mkdir(parents=True, exist_ok=True)
    host = urlsplit(live_pages.base_url).hostname
    requests_session, landed = sign_in(live_pages.base_url, "mgr01", "/reports/collections")
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
                page.goto(live_pages.base_url + "/reports/collections", wait_until="networkidle")
                assert not errors, errors
                assert page.locator("#receivables tbody tr").count() == 3
                assert page.locator("#overdue-total").inner_text() == "¥800,000.00"
                # the page itself never scrolls sideways: wide tables scroll inside their box
                assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
                assert page.evaluate("window.pwned === undefined")
                page.screenshot(path=str(SHOTS / f"collections-{name}.png"), full_page=True)
                context.close()
        finally:
            browser.close()
