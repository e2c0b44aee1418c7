"""雷达 links from the chat (issue 20), through the callback and the emulator: a rep asks for a material's tracked
link for a customer's contact, forwards it, and is told in the chat when it is opened and read."""

from __future__ import annotations

import json
import re
from datetime import timedelta

import requests

from salesnav.models import Contact
from tests import factories as f
from tests.bot.chat import Chat
from tests.handlers.battle_pack.arrange import material

TITLE = "AI影像辅助诊断白皮书"


def _arrange(session, frozen_clock):
    org = f.org(session)
    customer = f.customer(session, org.rep, name="北京协和医院")
    session.add(Contact(customer_id=customer.id, name="李明", title="设备科主任"))
    material(session, TITLE, published_at=frozen_clock.now() - timedelta(days=1))
    material(session, "CT球管更换成本测算表", published_at=frozen_clock.now() - timedelta(days=1))
    session.commit()
    return org


def _texts(live_app, userid="rep01"):
    live_app.drain()
    live_app.run_workers()
    return [m["payload"]["content"] for m in live_app.emulator.sent(userid) if m["msgtype"] == "text"]


def test_a_rep_asks_for_a_link_and_is_told_when_the_contact_opens_and_reads_it(session, frozen_clock, live_app):
    _arrange(session, frozen_clock)
    rep = Chat(live_app, "rep01")

    rep.say("雷达 协和 李主任 白皮书")

    answer = rep.last_text()
    assert answer.startswith(f"《{TITLE}》发给李主任（北京协和医院）的雷达链接（30 天有效）")
    [url] = re.findall(r"http://\S+/r/\S+", answer)

    page = requests.get(url)  # the contact opens what the rep forwarded
    assert page.status_code == 200
    assert _texts(live_app)[-1] == f"李主任（北京协和医院）刚打开了《{TITLE}》"

    [view] = re.findall(r'data-view="([^"]+)"', page.text)
    frozen_clock.advance(timedelta(minutes=3))
    posted = requests.post(
        f"{live_app.base_url}/r/beacon",
        data=json.dumps({"view": view, "seq": 1, "seconds": 180, "final": True}),
        headers={"Content-Type": "text/plain"},
    )
    assert posted.status_code == 204
    assert _texts(live_app)[-1] == f"李主任（北京协和医院）读了《{TITLE}》3 分钟"


def test_without_a_contact_the_link_names_the_customer(session, frozen_clock, live_app):
    _arrange(session, frozen_clock)
    rep = Chat(live_app, "rep01")
    rep.say("雷达 北京协和医院 测算表")
    answer = rep.last_text()
    assert answer.startswith("《CT球管更换成本测算表》发给北京协和医院的雷达链接")
    [url] = re.findall(r"http://\S+/r/\S+", answer)
    requests.get(url)
    assert _texts(live_app)[-1] == "北京协和医院的联系人刚打开了《CT球管更换成本测算表》"


def test_unclear_requests_are_answered_in_chinese(session, frozen_clock, live_app):
    org = _arrange(session, frozen_clock)
    material(session, "AI影像白皮书（简版）", published_at=frozen_clock.now() - timedelta(days=1))
    session.commit()
    rep = Chat(live_app, "rep01")

    rep.say("雷达")
    assert rep.last_text().startswith("请写上客户、（可选）联系人和资料名称，例如：雷达 协和医院 李主任 白皮书")
    rep.say("雷达 协和 李主任 白皮书")
    assert rep.last_text().startswith("有 2 份资料含「白皮书」：")
    rep.say("雷达 协和 宣传册")
    assert rep.last_text() == "没有找到标题含「宣传册」的已发布资料"
    f.customer(session, org.outsider_rep, name="上海长征医院")
    session.commit()
    other = Chat(live_app, org.outsider_rep.wecom_userid)  # a rep of another team: 协和 is not theirs
    other.say("雷达 北京协和医院 测算表")
    assert other.last_text().startswith("没有找到客户「北京协和医院」")
