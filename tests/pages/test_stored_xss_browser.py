"""Stored XSS, in headless Chromium: markup typed into every free-text field a user or an admin fills in —
override reasons, stage and checklist names, customer names, deal titles, touchpoint notes, annotations,
task titles, member names, material titles — is shown as text on the battle map (its chart tooltips
included), the other dashboards, the deal page, the admin pages and the sandbox, and never runs: the
page's flag stays unset, no dialog opens, and the Content Security Policy reports nothing (no inline
script was even attempted, and the policy does not break the pages' own scripts)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from salesnav.handlers.admin.accounts import create_account
from salesnav.handlers.admin.materials import add_material
from salesnav.handlers.admin.stages import add_item, update_stage
from salesnav.handlers.annotations import annotate_and_notify
from salesnav.handlers.collaboration import tickets_of
from salesnav.handlers.opportunities import advance_stage, create_from_touchpoint
from salesnav.handlers.stages import stage_by_code
from salesnav.handlers.tasks import create_task
from tests import factories as f
from tests.bot.conftest import LiveApp
from tests.pages.admin.conftest import CHROMIUM_ARGS, PASSWORD, sign_in_browser
from tests.pages.conftest import sign_in

playwright = pytest.importorskip("playwright.sync_api")

# Each payload would set window.__xss (or open a dialog) if it ever ran.
IMG = "<img src=x onerror=\"window.__xss='img'\">"
SCRIPT = "<script>window.__xss='script'</script>"
SVG = '"><svg onload="window.__xss=\'svg\'">'  # 36 characters: fits a stage name (40)
ALERT = "<img src=x onerror=alert(1)>"
BREAK_OUT = "</script><script>window.__xss='break'</script>"  # out of the page's JSON <script> block


@pytest.fixture
def poisoned(session, frozen_clock) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """mgr01's team week (as in test_dashboards_scope.py) with markup in every typed field; a won deal with a
    ticket this month for the marketing leaderboard; an admin account for the admin pages."""
    org = f.org(session)
    create_account(session, "boss", PASSWORD)
    admin = org.admin
    org.rep.name = "李" + SVG
    needs = stage_by_code(session, "needs_confirmed")
    update_stage(session, admin, needs.id, name=SVG, win_probability=20)
    add_item(session, admin, needs.id, name="预算" + IMG, kind="text", required=True)
    add_material(
        session,
        admin,
        title="白皮书" + SVG + IMG,
        description=SCRIPT,
        product_line="CT",
        stage_code=None,
        customer_kind=None,
        tags=IMG,
        url="https://example.test/w",
        data=None,
        filename=None,
        root=Path("unused-without-a-file"),
    )

    hospital = f.customer(session, org.rep, name="仁济" + IMG)
    first = f.touchpoint(session, org.rep, hospital, emotion="positive", summary=BREAK_OUT, next_action=SVG)
    deal = create_from_touchpoint(
        session, org.rep, touchpoint_id=first.id, title=SCRIPT, product_line="CT", expected_amount_fen=80_000_000
    )
    frozen_clock.advance(timedelta(days=1))
    f.touchpoint(session, org.rep, hospital, emotion="neutral", opportunity_id=deal.id)
    advance_stage(session, org.manager, opportunity_id=deal.id, to_stage="needs_confirmed", override_reason=IMG + ALERT)
    frozen_clock.advance(timedelta(days=1))
    f.touchpoint(session, org.rep, hospital, emotion="resistant", opportunity_id=deal.id)
    annotate_and_notify(session, org.manager, opportunity_id=deal.id, text=ALERT + SCRIPT)
    create_task(session, org.manager, assignee_id=org.rep.id, title="回访" + IMG, detail=BREAK_OUT)

    won_at = f.customer(session, org.rep, name="华山" + SCRIPT)
    tp = f.touchpoint(session, org.rep, won_at)
    won = create_from_touchpoint(
        session, org.rep, touchpoint_id=tp.id, title="大单" + IMG, product_line="CT", expected_amount_fen=100_000_000
    )
    for stage in ("needs_confirmed", "solution_demo", "sample_test", "negotiation", "contract_approval", "won"):
        advance_stage(session, org.manager, opportunity_id=won.id, to_stage=stage, override_reason=SVG)
        if stage == "sample_test":
            (ticket,) = tickets_of(session, won.id)
            for part in ticket.parts:
                part.first_valid_response_at = ticket.opened_at + timedelta(hours=8)
                part.responder_id = org.marketer.id
    frozen_clock.advance(timedelta(days=3, hours=2, minutes=30))  # Sat 12:00: overdue, emotion falling
    session.commit()
    return {"org": org, "deal": deal.id}


@pytest.fixture
def chromium() -> Iterator[Any]:
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        yield browser
        browser.close()


class Watched:
    """A page whose dialogs, script errors and CSP reports are collected."""

    def __init__(self, context: Any) -> None:
        self.page = context.new_page()
        self.dialogs: list[str] = []
        self.errors: list[str] = []
        self.csp: list[str] = []
        self.page.on("dialog", lambda d: (self.dialogs.append(d.message), d.dismiss()))
        self.page.on("pageerror", lambda exc: self.errors.append(str(exc)))
        self.page.on("console", lambda m: self.csp.append(m.text) if "Content Security Policy" in m.text else None)

    def open(self, url: str) -> Any:
        response = self.page.goto(url, wait_until="networkidle")
        self.page.wait_for_timeout(600)  # ECharts animations settle
        return response

    def assert_nothing_ran(self, where: str) -> None:
        flag = self.page.evaluate("window.__xss === undefined ? null : String(window.__xss)")
        assert flag is None, (where, "a payload ran", flag)
        assert self.dialogs == [], (where, "a dialog opened", self.dialogs)
        assert self.csp == [], (where, "CSP reports", self.csp)
        assert self.errors == [], (where, "script errors", self.errors)


def _context(browser: Any, live: LiveApp, userid: str | None, path: str) -> Any:
    # Tall enough that every chart is on screen: the tooltips are found by pointing at each element.
    context = browser.new_context(viewport={"width": 414, "height": 2400}, timezone_id="Asia/Shanghai", locale="zh-CN")
    if userid is not None:
        session, landed = sign_in(live.base_url, userid, path)
        assert landed.status_code == 200, (userid, path, landed.text[:300])
        context.add_cookies([{"name": c.name, "value": c.value, "url": live.base_url} for c in session.cookies])
    return context


def _hover_every_mark(watched: Watched, selector: str) -> list[str]:
    """Point at each chart element, as a manager does, and return what each tooltip showed (as text)."""
    page, shown = watched.page, []
    centres = page.eval_on_selector_all(
        selector,
        "els => els.map(e => e.getBoundingClientRect()).filter(r => r.width > 0)"
        ".map(r => [r.x + Math.min(r.width / 2, 4), r.y + r.height / 2])",
    )
    assert centres, f"no chart element matches {selector}"
    for x, y in centres:
        page.mouse.move(x, y)
        page.wait_for_timeout(120)
        tooltip = page.locator(".chart-tooltip").last
        if tooltip.count() and tooltip.is_visible():
            assert tooltip.locator("img, svg, script, iframe").count() == 0, tooltip.inner_html()
            shown.append(tooltip.inner_text())
    return shown


STAGE_AND_RED = ", ".join(
    f'.gantt svg path[fill="{c}"]'
    for c in ("#91caff", "#69b1ff", "#4096ff", "#1677ff", "#0958d9", "#003eb3", "#f5222d", "#cf1322", "#ff4d4f")
)


def test_typed_markup_never_runs_on_the_dashboards_and_charts(live_pages: LiveApp, poisoned, chromium) -> None:  # type: ignore[no-untyped-def]
    base, deal = live_pages.base_url, poisoned["deal"]
    for userid, path in (
        ("mgr01", "/dashboards/team"),
        ("dir01", f"/dashboards/team?manager={poisoned['org'].manager.id}"),
    ):
        context = _context(chromium, live_pages, userid, path)
        watched = Watched(context)
        assert watched.open(base + path).headers["content-security-policy"].startswith("default-src 'self'")
        body = watched.page.inner_text("body")
        assert "仁济<img src=x" in body and '李"><svg' in body  # shown, as text
        shown = "\n".join(_hover_every_mark(watched, STAGE_AND_RED))
        assert "跳过原因：<img src=x" in shown, shown  # the override reason: the case seen in production shape
        assert '"><svg onload=' in shown  # the admin-set stage name
        assert "预算<img src=x" in shown  # the admin-set checklist item
        watched.page.locator("a.annotate").first.click()  # the annotate dialog names the deal and the rep
        assert SCRIPT in watched.page.locator("#annotate-dialog .deal").inner_text()
        watched.assert_nothing_ran(f"{userid} {path}")
        context.close()

    context = _context(chromium, live_pages, "mgr01", f"/dashboards/opportunities/{deal}")
    watched = Watched(context)
    watched.open(base + f"/dashboards/opportunities/{deal}")
    body = watched.page.inner_text("body")
    assert ALERT + SCRIPT in body and IMG + ALERT in body and BREAK_OUT in body
    watched.assert_nothing_ran("deal page")
    context.close()

    context = _context(chromium, live_pages, "rep01", "/dashboards/me")
    watched = Watched(context)
    watched.open(base + "/dashboards/me")
    assert "回访" + IMG in watched.page.inner_text("#battle-pack")
    _hover_every_mark(watched, STAGE_AND_RED)
    watched.assert_nothing_ran("rep's page")
    context.close()

    context = _context(chromium, live_pages, "mkt01", "/dashboards/marketing")
    watched = Watched(context)
    watched.open(base + "/dashboards/marketing")
    assert "大单" + IMG in watched.page.inner_text("#leaderboard")
    shown = "\n".join(_hover_every_mark(watched, "#leaderboard-chart svg path"))
    assert "大单" + IMG in shown and "华山" + SCRIPT in shown, shown
    watched.assert_nothing_ran("marketing leaderboard")
    context.close()

    context = _context(chromium, live_pages, "dir01", "/dashboards/exec")
    watched = Watched(context)
    watched.open(base + "/dashboards/exec")
    assert watched.page.locator("#trend-chart svg path").count() > 4  # the policy leaves the charts drawn
    watched.assert_nothing_ran("executive page")
    context.close()


def test_typed_markup_never_runs_on_the_admin_pages_or_in_the_sandbox(live_pages: LiveApp, poisoned, chromium) -> None:  # type: ignore[no-untyped-def]
    context = _context(chromium, live_pages, None, "/admin/")
    watched = Watched(context)
    sign_in_browser(watched.page, live_pages, "/admin/stages")
    for path, expected in (
        ("/admin/stages", "预算<img src=x"),
        ("/admin/materials", '白皮书"><svg'),
        ("/admin/org", '李"><svg'),
        ("/admin/", "阶段 #"),  # the audit trail of the renames, their values shown as text
        ("/admin/delivery", "发出的消息"),
    ):
        watched.open(live_pages.base_url + path)
        values = watched.page.eval_on_selector_all("input, textarea", "els => els.map(e => e.value).join('\\n')")
        assert expected in watched.page.inner_text("body") + values, path  # as text, or as a field's value
        watched.assert_nothing_ran(path)
    context.close()

    live_pages.drain()  # the annotation reaches rep01 in WeCom: the sandbox shows it
    context = _context(chromium, live_pages, None, "/sandbox/")
    watched = Watched(context)
    watched.open(live_pages.base_url + "/sandbox/?as=rep01")
    watched.page.wait_for_timeout(1500)  # the chat polls the emulator
    chat = watched.page.inner_text("#chat")
    assert "仁济<img src=x" in chat and '"><svg onload=' in chat  # the annotation card: customer, stage
    watched.assert_nothing_ran("sandbox")
    context.close()


def test_every_page_carries_the_content_security_policy(live_pages: LiveApp, session) -> None:  # type: ignore[no-untyped-def]
    import requests

    from salesnav.pages.security_headers import CONTENT_SECURITY_POLICY

    f.org(session)
    session.commit()
    base = live_pages.base_url
    authorize = requests.get(base + "/auth/login", allow_redirects=False).headers["Location"]
    for url in (base + "/", base + "/sandbox/", base + "/admin/login", base + authorize.split("#")[0]):
        response = requests.get(url, timeout=10)
        assert response.status_code == 200, url
        assert response.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY, url
        assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "script-src 'self';" in CONTENT_SECURITY_POLICY and "unsafe-eval" not in CONTENT_SECURITY_POLICY


def test_no_template_has_an_inline_script_or_event_handler() -> None:
    """What the policy would block must not be in our own pages: scripts come from static files only."""
    import re

    templates = Path(__file__).resolve().parents[2] / "salesnav" / "pages" / "templates"
    for template in templates.rglob("*.html"):
        text = template.read_text(encoding="utf-8")
        inline = [m for m in re.findall(r"<script\b[^>]*>", text) if "src=" not in m and "application/json" not in m]
        assert inline == [], (template.name, inline)
        assert not re.search(r"\son[a-z]+\s*=", text), template.name
        assert "<style" not in text, template.name
