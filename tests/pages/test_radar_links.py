"""雷达 tracked links (issue 20): a material shared with a customer's contact as a signed link to our page.

Through the real app on loopback and its WeCom emulator, with a moved clock: opening the page records
material.opened and tells the rep in the chat within the outbox's next flush; the page's beacon reports reading
time, and the read summary goes once; the download is recorded; a forged, altered or expired link and a
replayed beacon are refused in Chinese.
"""

from __future__ import annotations

import json
import re
from datetime import date, timedelta

import pytest
import requests
from sqlalchemy import select

from salesnav.handlers import radar
from salesnav.handlers.attachments import store_attachment
from salesnav.jobs import battle_pack
from salesnav.jobs import radar as radar_jobs
from salesnav.models import Contact, Customer, CustomerEvent, MaterialView, User
from salesnav.models import session as db
from tests import factories as f
from tests.handlers.battle_pack.arrange import customer as arrange_customer
from tests.handlers.battle_pack.arrange import local, material, open_deal

PDF = b"%PDF-1.4\n% a white paper\n"
TITLE = "AI影像辅助诊断白皮书"


@pytest.fixture
def shared(session, frozen_clock, live_pages):
    """李主任 of 协和医院 gets rep01's link to the white paper (a kept PDF)."""
    org = f.org(session)
    customer = f.customer(session, org.rep, name="北京协和医院")
    contact = Contact(customer_id=customer.id, name="李明", title="设备科主任", external_userid="wmLI")
    session.add(contact)
    kept = store_attachment(session, None, data=PDF, filename="白皮书.pdf", root=live_pages.settings.attachments_dir)
    paper = material(session, TITLE, published_at=frozen_clock.now() - timedelta(days=1))
    paper.attachment_id = kept.id
    session.flush()
    link = radar.share_link(session, org.rep, paper.id, customer.id, contact_id=contact.id)
    session.commit()
    return link


def _texts(live_pages, userid="rep01"):
    live_pages.drain()  # what the page's requests queued, then the outbox's flush
    live_pages.run_workers()
    return [m["payload"]["content"] for m in live_pages.emulator.sent(userid) if m["msgtype"] == "text"]


def _events(kind=None):
    with db.transaction() as s:
        statement = select(CustomerEvent).order_by(CustomerEvent.id)
        if kind:
            statement = statement.where(CustomerEvent.kind == kind)
        return [(e.kind, e.contact_id, e.source, dict(e.payload)) for e in s.scalars(statement)]


def _view_token(page_html: str) -> str:
    [token] = re.findall(r'data-view="([^"]+)"', page_html)
    return token


def _beacon(live_pages, view: str, seq: int, seconds: int, final: bool = False) -> requests.Response:
    body = json.dumps({"view": view, "seq": seq, "seconds": seconds, "final": final})
    return requests.post(f"{live_pages.base_url}/r/beacon", data=body, headers={"Content-Type": "text/plain"})


def test_opening_the_link_records_the_event_and_tells_the_rep_once(shared, live_pages, frozen_clock):
    assert shared.url.startswith(f"{live_pages.base_url}/r/")
    page = requests.get(shared.url)
    assert page.status_code == 200 and TITLE in page.text and "查看 / 下载资料" in page.text
    assert _texts(live_pages) == [f"李主任（北京协和医院）刚打开了《{TITLE}》"]
    [(kind, contact_id, source, payload)] = _events()
    assert (kind, contact_id, source) == ("material.opened", shared.contact.id, "radar")
    assert payload["material_id"] == shared.material.id and payload["title"] == TITLE

    frozen_clock.advance(timedelta(minutes=5))  # a reload within the half hour: the same view, no second message
    again = requests.get(shared.url)
    assert again.status_code == 200 and _view_token(again.text) == _view_token(page.text)
    assert _texts(live_pages) == [f"李主任（北京协和医院）刚打开了《{TITLE}》"]
    assert len(_events("material.opened")) == 1

    frozen_clock.advance(timedelta(hours=2))  # opened again the next time: a new view, told again
    requests.get(shared.url)
    assert len(_events("material.opened")) == 2
    assert len(_texts(live_pages)) == 2


def test_reading_time_is_reported_once_in_minutes_and_a_replayed_beacon_is_refused(shared, live_pages, frozen_clock):
    view = _view_token(requests.get(shared.url).text)
    frozen_clock.advance(timedelta(seconds=15))
    assert _beacon(live_pages, view, 1, 15).status_code == 204
    frozen_clock.advance(timedelta(seconds=165))
    assert _beacon(live_pages, view, 2, 180).status_code == 204

    replay = _beacon(live_pages, view, 2, 180)
    assert replay.status_code == 409 and replay.json()["message"] == "重复的阅读上报，已忽略"
    assert _beacon(live_pages, view, 1, 9999).status_code == 409

    assert _beacon(live_pages, view, 3, 182, final=True).status_code == 204
    texts = _texts(live_pages)
    assert texts[-1] == f"李主任（北京协和医院）读了《{TITLE}》3 分钟"
    [(_, _, _, payload)] = _events("material.read")
    assert payload["seconds"] == 182

    frozen_clock.advance(timedelta(seconds=30))  # the page shown again and hidden again: no second summary
    assert _beacon(live_pages, view, 4, 200, final=True).status_code == 204
    assert _texts(live_pages) == texts and len(_events("material.read")) == 1


def test_a_beacon_cannot_claim_more_time_than_has_passed(shared, live_pages, frozen_clock):
    view = _view_token(requests.get(shared.url).text)
    frozen_clock.advance(timedelta(seconds=40))
    assert _beacon(live_pages, view, 1, 3600, final=True).status_code == 204
    with db.transaction() as s:
        (seconds,) = s.scalars(select(MaterialView.read_seconds)).all()
    assert seconds == 40 + radar.BEACON_SLACK_SECONDS
    assert _texts(live_pages)[-1] == f"李主任（北京协和医院）读了《{TITLE}》45 秒"


def test_a_page_that_went_dark_gets_its_summary_from_the_clocks_sweep(shared, live_pages, frozen_clock):
    view = _view_token(requests.get(shared.url).text)
    frozen_clock.advance(timedelta(seconds=60))
    assert _beacon(live_pages, view, 1, 60).status_code == 204
    frozen_clock.advance(timedelta(seconds=radar.IDLE_SECONDS - 1))
    assert radar_jobs.close_idle() == 0  # not silent long enough yet
    frozen_clock.advance(timedelta(seconds=2))
    assert radar_jobs.close_idle() == 1
    assert _texts(live_pages)[-1] == f"李主任（北京协和医院）读了《{TITLE}》1 分钟"
    assert radar_jobs.close_idle() == 0  # reported once


def test_a_short_glance_is_recorded_but_not_told(shared, live_pages, frozen_clock):
    view = _view_token(requests.get(shared.url).text)
    frozen_clock.advance(timedelta(seconds=4))
    assert _beacon(live_pages, view, 1, 4, final=True).status_code == 204
    assert len(_texts(live_pages)) == 1  # the open message only
    [(_, _, _, payload)] = _events("material.read")
    assert payload["seconds"] == 4


def test_the_download_serves_the_file_and_is_recorded_and_told_once(shared, live_pages):
    view = _view_token(requests.get(shared.url).text)
    for _ in range(2):
        got = requests.get(f"{live_pages.base_url}/r/file/{view}")
        assert got.status_code == 200 and got.content == PDF
    assert _texts(live_pages)[-1] == f"李主任（北京协和医院）下载了《{TITLE}》"
    assert len(_texts(live_pages)) == 2
    assert [k for k, *_ in _events()] == ["material.opened", "material.downloaded"]


def test_a_forged_or_altered_link_is_refused_with_a_chinese_page(shared, live_pages):
    altered = shared.token[:-3] + ("aaa" if not shared.token.endswith("aaa") else "bbb")
    for token in (altered, "not-a-token", "x.y"):
        url = f"{live_pages.base_url}/r/{token}"
        page = requests.get(url)
        assert page.status_code == 403, url
        assert "链接无效" in page.text and TITLE not in page.text
    # a link signed with another key (another deployment, or a guessed secret)
    forged = radar.URLSafeSerializer("not-our-secret", salt=radar.LINK_SALT).dumps(
        {"m": shared.material.id, "c": shared.customer.id, "k": None, "r": 1, "t": 1_900_000_000}
    )
    assert requests.get(f"{live_pages.base_url}/r/{forged}").status_code == 403
    assert _events() == [] and _texts(live_pages) == []


def test_a_forged_view_id_is_refused_for_beacons_and_downloads(shared, live_pages):
    view = _view_token(requests.get(shared.url).text)
    forged = view[:-2] + ("AA" if not view.endswith("AA") else "BB")
    refused = _beacon(live_pages, forged, 1, 10, final=True)
    assert refused.status_code == 403 and refused.json()["message"] == radar.VIEW_REFUSED
    assert requests.get(f"{live_pages.base_url}/r/file/{forged}").status_code == 403
    assert [k for k, *_ in _events()] == ["material.opened"]


def test_a_malformed_beacon_is_a_clear_422(shared, live_pages):
    view = _view_token(requests.get(shared.url).text)
    zero = json.dumps({"view": view, "seq": 0, "seconds": 1})
    for body in ("", "[]", "{", '{"view": 1, "seq": 1, "seconds": 1}', zero):
        answer = requests.post(f"{live_pages.base_url}/r/beacon", data=body, headers={"Content-Type": "text/plain"})
        assert answer.status_code == 422, body
        assert "阅读上报格式不对" in answer.json()["message"]
    deep = requests.post(f"{live_pages.base_url}/r/beacon", data="[" * 1500, headers={"Content-Type": "text/plain"})
    assert deep.status_code == 422


def test_an_expired_link_is_refused(shared, live_pages, frozen_clock):
    frozen_clock.advance(timedelta(days=radar.LINK_VALID_DAYS, seconds=1))
    page = requests.get(shared.url)
    assert page.status_code == 403 and "链接已过期" in page.text
    assert _events() == []


def test_a_link_for_a_wecom_external_contact_names_that_contact(session, frozen_clock, live_pages):
    org = f.org(session)
    customer = f.customer(session, org.rep, name="华山医院")
    contact = Contact(customer_id=customer.id, name="王芳", title="信息科科长", external_userid="wmWANG")
    session.add(contact)
    paper = material(session, TITLE, published_at=frozen_clock.now())
    session.flush()
    link = radar.share_link(session, org.rep, paper.id, customer.id, external_userid="wmWANG")
    session.commit()
    assert link.contact is not None and link.contact.id == contact.id
    page = requests.get(link.url)
    assert page.status_code == 200 and "该资料暂无附件" in page.text
    assert _texts(live_pages) == [f"王科长（华山医院）刚打开了《{TITLE}》"]


def test_a_rep_cannot_share_a_link_for_a_customer_they_do_not_see(session, frozen_clock, live_pages):
    org = f.org(session)
    customer = f.customer(session, org.other_rep)
    paper = material(session, TITLE, published_at=frozen_clock.now())
    session.commit()
    with pytest.raises(radar.NotFound):
        radar.share_link(session, org.outsider_rep, paper.id, customer.id)


def test_the_battle_packs_material_comes_with_a_tracked_link_for_each_matched_customer(
    session, frozen_clock, live_pages
):
    monday = date(2026, 3, 2)
    frozen_clock.set(local(monday, 9))
    org = f.org(session)
    deck = material(session, "CT球管更换成本测算表", product_line="CT球管", published_at=frozen_clock.now())
    deck.url = "https://example.com/deck.pdf"
    huashan = arrange_customer(session, org.rep, "华山医院")
    for cust, amount in ((huashan, 500_000), (arrange_customer(session, org.rep, "瑞金医院"), 200_000)):
        open_deal(
            session,
            org.rep,
            cust,
            product_line="CT球管",
            stage="solution_demo",
            amount_yuan=amount,
            stage_entered_at=frozen_clock.now() - timedelta(days=2),
        )
    session.commit()

    frozen_clock.set(local(monday, 10))
    battle_pack.run(frozen_clock.now())
    live_pages.drain()
    [pack] = [m["payload"]["content"] for m in live_pages.emulator.sent("rep01") if m["msgtype"] == "markdown"]
    [line] = [x for x in pack.splitlines() if x.startswith("转发给客户（打开、阅读会通知您）：")]
    links = dict(re.findall(r"\[([^\]]+)\]\(([^)]+)\)", line))
    assert list(links) == ["华山医院", "瑞金医院"]  # the larger deal first
    assert all(url.startswith(f"{live_pages.base_url}/r/") for url in links.values())

    page = requests.get(links["华山医院"])
    assert page.status_code == 200 and "CT球管更换成本测算表" in page.text
    assert _texts(live_pages)[-1] == "华山医院的联系人刚打开了《CT球管更换成本测算表》"
    [(_, contact_id, _, payload)] = _events("material.opened")
    assert contact_id is None and payload["material_id"] == deck.id


def test_a_chat_apps_link_preview_robot_sees_the_page_but_is_not_the_contact_opening_it(shared, live_pages):
    for agent in (
        "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
        "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)",
        "facebookexternalhit/1.1",
    ):
        page = requests.get(shared.url, headers={"User-Agent": agent})
        assert page.status_code == 200 and TITLE in page.text, agent
        assert 'data-view=""' in page.text and "查看 / 下载资料" not in page.text
    assert _events() == [] and _texts(live_pages) == []
    assert requests.get(shared.url).status_code == 200  # the contact, afterwards: that is the opening
    assert [k for k, *_ in _events()] == ["material.opened"]


def test_when_the_rep_has_left_the_customers_owner_is_told(shared, live_pages, session):
    rep = session.get(User, shared.customer.owner_id)
    rep.active = False
    new_owner = session.scalars(select(User).where(User.wecom_userid == "rep02")).one()
    session.get(Customer, shared.customer.id).owner_id = new_owner.id
    session.commit()
    requests.get(shared.url)
    assert _texts(live_pages, "rep01") == []
    assert _texts(live_pages, "rep02") == [f"李主任（北京协和医院）刚打开了《{TITLE}》"]
