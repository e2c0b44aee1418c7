"""What each role may open, the battle map's red blocks on a hand-built week, annotating from the map,
the leaderboard's score, and the same figures as JSON under /api/v1/dashboards."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
import requests

from salesnav import clock
from salesnav.handlers.collaboration import tickets_of
from salesnav.handlers.opportunities import advance_stage, create_from_touchpoint
from salesnav.models import Annotation, Opportunity, TicketPart
from tests import factories as f
from tests.bot.conftest import LiveApp
from tests.pages.conftest import sign_in

MONDAY = datetime(2026, 3, 2, 1, 30, tzinfo=UTC)  # Mon 09:30 in Shanghai: the frozen clock's start


@pytest.fixture
def week(session, frozen_clock):  # type: ignore[no-untyped-def]
    """One business week of mgr01's team, arranged through the handlers:

    Mon 09:30 rep01 meets 张院长's hospital (积极) and opens 「CT球管更换」; Tue 09:30 a 中性 meeting, and mgr01
    moves the deal to 需求确认 without the 客户需求记录 (override); Wed 09:30 a 抵触 meeting on the deal. Sat
    12:00 is "now": 74.5 h since the last follow-up (> 72 h), and the emotions fell 积极 → 中性 → 抵触.
    rep03 (another team) has a deal too.
    """
    org = f.org(session)
    hospital = f.customer(session, org.rep, name="仁济医院")
    first = f.touchpoint(session, org.rep, hospital, emotion="positive")
    deal = create_from_touchpoint(
        session,
        org.rep,
        touchpoint_id=first.id,
        title="CT球管更换",
        product_line="CT球管",
        expected_amount_fen=80_000_000,
    )
    frozen_clock.advance(timedelta(days=1))
    f.touchpoint(session, org.rep, hospital, emotion="neutral", opportunity_id=deal.id)
    advance_stage(
        session, org.manager, opportunity_id=deal.id, to_stage="needs_confirmed", override_reason="客户催得急"
    )
    frozen_clock.advance(timedelta(days=1))
    f.touchpoint(session, org.rep, hospital, emotion="resistant", opportunity_id=deal.id)
    elsewhere = f.customer(session, org.outsider_rep, name="外队医院")
    other = f.touchpoint(session, org.outsider_rep, elsewhere)
    outsider_deal = create_from_touchpoint(
        session,
        org.outsider_rep,
        touchpoint_id=other.id,
        title="外队商机",
        product_line="超声",
        expected_amount_fen=10_000_000,
    )
    frozen_clock.advance(timedelta(days=3, hours=2, minutes=30))  # Sat 12:00
    session.commit()
    return org, deal.id, outsider_deal.id


def _figures(html: str) -> dict:  # type: ignore[type-arg]
    import json

    return json.loads(
        re.search(r'<script type="application/json" id="figures"[^>]*>(.*?)</script>', html, re.S).group(1)
    )


@pytest.mark.parametrize("userid", ["rep01", "mgr01", "dir01", "mkt01"])
def test_the_navigation_links_only_pages_the_member_may_open(live_pages: LiveApp, week, userid) -> None:  # type: ignore[no-untyped-def]
    browser, landed = sign_in(live_pages.base_url, userid)
    nav = re.search(r'<nav class="dash-nav">(.*?)</nav>', landed.text, re.S)
    assert nav, landed.text[:300]
    links = re.findall(r'<a href="([^"]+)"', nav.group(1))
    assert links
    for link in links:
        assert browser.get(live_pages.base_url + link).status_code == 200, (userid, link)
    assert ("协同价值榜" in nav.group(1)) is (userid in ("dir01", "mkt01"))


def test_a_rep_cannot_open_the_team_or_executive_pages(live_pages: LiveApp, week) -> None:  # type: ignore[no-untyped-def]
    browser, me = sign_in(live_pages.base_url, "rep01")
    assert me.status_code == 200 and "今日作战包" in me.text
    assert browser.get(live_pages.base_url + "/dashboards/team").status_code == 403
    assert browser.get(live_pages.base_url + "/dashboards/exec").status_code == 403
    assert browser.get(live_pages.base_url + "/dashboards/marketing").status_code == 403
    other = browser.get(live_pages.base_url + f"/dashboards/me?rep={week[0].other_rep.id}")
    assert other.status_code == 404 and "无权查看" in other.text


def test_a_manager_sees_only_their_team_with_the_three_red_blocks(live_pages: LiveApp, week) -> None:  # type: ignore[no-untyped-def]
    org, deal_id, outsider_deal_id = week
    browser, page = sign_in(live_pages.base_url, "mgr01", "/dashboards/team")
    assert page.status_code == 200
    data = _figures(page.text)
    reps = {r["rep_name"]: r for r in data["reps"]}
    assert set(reps) == {"李销售", "周销售"}  # rep03 belongs to mgr02
    assert f"/dashboards/opportunities/{outsider_deal_id}" not in page.text
    (row,) = reps["李销售"]["rows"]
    assert row["id"] == deal_id
    assert [p["stage_name"] for p in row["periods"]] == ["初步接触", "需求确认"]
    assert row["periods"][0]["start"] == "2026-03-02T01:30:00+00:00"
    assert row["periods"][1]["start"] == "2026-03-03T01:30:00+00:00"
    blocks = {b["kind"]: b for b in row["red_blocks"]}
    assert set(blocks) == {"overdue", "checklist", "emotion"}
    # Last follow-up Wed 09:30 local (01:30 UTC) + 72 h = Sat 01:30 UTC, until now (Sat 04:00 UTC).
    assert (blocks["overdue"]["start"], blocks["overdue"]["end"]) == (
        "2026-03-07T01:30:00+00:00",
        "2026-03-07T04:00:00+00:00",
    )
    assert (
        blocks["checklist"]["start"] == "2026-03-03T01:30:00+00:00" and "客户需求记录" in blocks["checklist"]["detail"]
    )
    assert (blocks["emotion"]["start"], blocks["emotion"]["end"]) == (
        "2026-03-02T01:30:00+00:00",
        "2026-03-04T01:30:00+00:00",
    )
    assert "积极 → 中性 → 抵触" in blocks["emotion"]["detail"]
    assert page.text.count('class="red-block"') == 3

    assert browser.get(live_pages.base_url + f"/dashboards/team?manager={org.other_manager.id}").status_code == 403
    assert browser.get(live_pages.base_url + f"/dashboards/opportunities/{outsider_deal_id}").status_code == 404
    assert browser.get(live_pages.base_url + "/dashboards/exec").status_code == 403


def test_a_director_may_switch_to_any_team(live_pages: LiveApp, week) -> None:  # type: ignore[no-untyped-def]
    org, _, outsider_deal_id = week
    browser, _ = sign_in(live_pages.base_url, "dir01")
    page = browser.get(live_pages.base_url + f"/dashboards/team?manager={org.other_manager.id}")
    assert page.status_code == 200 and f"/dashboards/opportunities/{outsider_deal_id}" in page.text


def test_the_annotate_button_posts_a_csrf_protected_annotation_to_the_rep(live_pages: LiveApp, week, session) -> None:  # type: ignore[no-untyped-def]
    org, deal_id, _ = week
    browser, page = sign_in(live_pages.base_url, "mgr01", "/dashboards/team")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    url = live_pages.base_url + f"/dashboards/opportunities/{deal_id}/annotations"
    assert browser.post(url, data={"text": "没有令牌"}).status_code == 400
    assert requests.post(url, data={"text": "未登录", "csrf_token": token}, allow_redirects=False).status_code == 401
    done = browser.post(url, data={"text": "今天务必约张院长确认需求", "csrf_token": token, "back": "/dashboards/team"})
    assert done.status_code == 200 and "批注已发送给销售" in done.text and "今天务必约张院长确认需求" in done.text
    session.expire_all()
    (note,) = session.query(Annotation).all()
    assert (note.author_id, note.recipient_id, note.opportunity_id) == (org.manager.id, org.rep.id, deal_id)
    live_pages.drain()  # the rep receives it in WeCom, as an annotation from the chat
    cards = [m["payload"] for m in live_pages.emulator.sent("rep01") if m["msgtype"] == "template_card"]
    assert [c["quote_area"]["quote_text"] for c in cards if "quote_area" in c] == ["今天务必约张院长确认需求"]

    rep_browser, rep_page = sign_in(live_pages.base_url, "rep01")
    rep_token = re.search(r'name="csrf_token" value="([^"]+)"', rep_page.text).group(1)
    refused = rep_browser.post(url, data={"text": "自己批注", "csrf_token": rep_token})
    assert refused.status_code == 403 and "只有销售主管" in refused.text


def test_the_leaderboard_scores_won_amount_times_response_speed(live_pages: LiveApp, session, frozen_clock) -> None:  # type: ignore[no-untyped-def]
    org = f.org(session)
    hospital = f.customer(session, org.rep)
    tp = f.touchpoint(session, org.rep, hospital)
    deal = create_from_touchpoint(
        session, org.rep, touchpoint_id=tp.id, title="大单", product_line="CT", expected_amount_fen=100_000_000
    )  # 100 万元
    for stage in ("needs_confirmed", "solution_demo", "sample_test", "negotiation", "contract_approval", "won"):
        advance_stage(session, org.manager, opportunity_id=deal.id, to_stage=stage, override_reason="测试")
        if stage == "sample_test":
            (ticket,) = tickets_of(session, deal.id)
            marketing = next(p for p in ticket.parts if p.department_id == org.marketing.id)
            delivery = next(p for p in ticket.parts if p.department_id == org.delivery.id)
            marketing.first_valid_response_at = ticket.opened_at + timedelta(hours=24)  # speed 24/48 = 0.5
            delivery.first_valid_response_at = ticket.opened_at + timedelta(hours=8)  # speed 24/32 = 0.75
            marketing.responder_id = org.marketer.id
    session.commit()
    _browser, page = sign_in(live_pages.base_url, "mkt01")
    data = _figures(page.text)
    assert [(r["department_name"], round(r["value"], 2)) for r in data["rows"]] == [("交付部", 75.0), ("市场部", 50.0)]
    assert data["monthly_top"][0]["month"] == "2026-03" and len(data["monthly_top"][0]["top"]) == 2
    assert page.text.count('class="leader-row top"') == 2


def _bearer(live: LiveApp, userid: str) -> dict[str, str]:
    token = requests.post(live.base_url + "/api/v1/auth/login", json={"code": f"dev-{userid}"}).json()["token"]
    return {"Authorization": f"Bearer {token}"}


def test_the_same_figures_as_json_for_the_mini_program(live_pages: LiveApp, week) -> None:  # type: ignore[no-untyped-def]
    org, deal_id, _ = week
    base = live_pages.base_url + "/api/v1/dashboards"
    assert requests.get(base + "/exec").status_code == 401
    director = _bearer(live_pages, "dir01")
    executive = requests.get(base + "/exec", headers=director).json()
    assert set(executive) >= {"health", "trend", "verification", "funnel"}
    assert [v["baseline"] for v in executive["verification"]] == [4.2, 0.38, 0.44]
    assert requests.get(base + "/exec?days=5", headers=director).status_code == 422

    manager = _bearer(live_pages, "mgr01")
    team = requests.get(base + "/team", headers=manager).json()
    assert {r["rep_name"] for r in team["reps"]} == {"李销售", "周销售"}
    assert team["red_counts"] == {"overdue": 1, "checklist": 1, "emotion": 1}
    assert requests.get(base + f"/team?manager={org.other_manager.id}", headers=manager).status_code == 403

    rep = _bearer(live_pages, "rep01")
    forbidden = requests.get(base + "/team", headers=rep)
    assert forbidden.status_code == 403 and forbidden.json()["message"]
    mine = requests.get(base + "/me", headers=rep).json()
    assert mine["rep_name"] == "李销售" and mine["battle_map"]["reps"][0]["rows"][0]["id"] == deal_id
    assert requests.get(base + "/marketing", headers=rep).status_code == 403
    assert requests.get(base + "/marketing", headers=_bearer(live_pages, "mkt01")).status_code == 200
    assert clock.now() > MONDAY
    assert Opportunity and TicketPart  # the models the arrangement touched
