"""催促补录 by the system: once a working day each rep gets their records that do not count yet — a touchpoint
without a person present or a next action, a deal without its stage's checklist evidence — and completes each
with one tap and a message; the count per rep is in the manager's report."""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import date, timedelta

import pytest
from PIL import Image
from redis import Redis
from sqlalchemy import select

from salesnav.bot.emulator import STATE, callbacks
from salesnav.jobs.clock import PERIODIC, Clock
from salesnav.jobs.leader import LocalLeadership
from salesnav.models import ChecklistEvidence, Touchpoint
from salesnav.models import session as db
from tests import factories as f
from tests.bot.chat import Chat, button
from tests.bot.conftest import LiveApp, serve
from tests.handlers.battle_pack.arrange import customer, local
from tests.metrics import builders

MONDAY = date(2026, 3, 2)
TUESDAY = date(2026, 3, 3)
JOB = next(p for p in PERIODIC if p.id == "reports.chase_due")


@pytest.fixture
def app(settings, database) -> Iterator[LiveApp]:
    if settings.redis_url:
        Redis.from_url(settings.redis_url).flushdb()
    yield from serve(settings)


@pytest.fixture
def org(session, frozen_clock):
    frozen_clock.set(local(MONDAY - timedelta(days=3), 10))
    org = f.org(session)
    huashan = customer(session, org.rep, "华山医院", contact=("李总", "设备科"))
    bare = builders.touchpoint(session, org.rep, huashan, frozen_clock.now())  # nobody present, no next step
    builders.effective(session, org.rep, huashan, frozen_clock.now())  # counts: not listed
    builders.deal(
        session,
        org.rep,
        huashan,
        [("initial_contact", frozen_clock.now()), ("solution_demo", frozen_clock.now())],
        via=bare,
    )
    session.commit()
    return org


def tick(app: LiveApp) -> None:
    Clock(LocalLeadership(), periodic=[JOB]).tick(JOB)
    app.drain()


def chase_cards(chat: Chat) -> list[dict]:
    return [
        m["payload"]
        for m in chat.sent()
        if m["msgtype"] == "template_card" and m["payload"]["main_title"]["title"].startswith("待补录")
    ]


def send_photo(chat: Chat) -> None:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), "white").save(out, "JPEG")
    media = STATE.add_media("image", "ppt.jpg", "image/jpeg", out.getvalue())
    chat.post(callbacks.image_xml(chat.settings, chat.userid, media.media_id))


def test_each_morning_the_rep_gets_what_does_not_count_yet_and_completes_it_with_a_tap(app, org, frozen_clock):
    rep = Chat(app, "rep01")
    frozen_clock.set(local(MONDAY, 8, 59))
    tick(app)
    assert chase_cards(rep) == []
    frozen_clock.set(local(MONDAY, 9))
    tick(app)
    [card] = chase_cards(rep)
    assert card["main_title"]["title"] == "待补录 2 条"
    assert card["sub_title_text"] == (
        "1. 华山医院 · 2月27日面访：缺在场人员、下一步及时间\n"
        "2. 华山医院 · 华山医院CT设备（方案演示）：缺演示PPT、客户问题清单、内部资源协调记录"
    )
    assert [b["text"] for b in card["button_list"]] == ["补第1条", "补第2条"]
    assert chase_cards(Chat(app, "rep02")) == []  # nothing to complete: no card at all

    rep.tap(card, button(card, "补第1条"))
    assert rep.last_text().startswith("补录「华山医院 · 2月27日面访」：请发一句文字或语音")
    rep.say("李总在场，明天下午三点送样")
    with db.transaction() as session:
        tps = list(session.scalars(select(Touchpoint).order_by(Touchpoint.id)))
        assert tps[0].is_effective and tps[0].next_action == "送样"

    rep.tap(card, button(card, "补第2条"))
    assert "还缺 3 项" in rep.last_text() and "先发第 1 项 「演示PPT」：请拍照或发送文件" in rep.last_text()
    rep.say("下周再说")
    assert rep.last_text().startswith("还差 「演示PPT」")  # words do not stand in for a file
    send_photo(rep)
    assert (
        rep.last_text()
        == "✅ 已收到「演示PPT」。还差 2 项，下一项 「客户问题清单」：请拍照或发送文件（图片、PDF 或 PPT）。"
    )
    send_photo(rep)
    rep.say("已协调工程师张工周三到场")
    assert rep.last_text() == "✅ 已补齐「华山医院CT设备」在「方案演示」阶段的检查清单。"
    with db.transaction() as session:
        assert len(list(session.scalars(select(ChecklistEvidence)))) == 3

    frozen_clock.set(local(TUESDAY, 9))
    tick(app)
    assert len(chase_cards(rep)) == 1  # everything counts now: no second list
