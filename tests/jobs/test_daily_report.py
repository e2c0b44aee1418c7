"""The rep's daily report writes itself: the day captured in chat comes back at the configured hour as a card,
confirmed with one tap or added to by text or voice — read back from the WeCom emulator."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta

import pytest
from redis import Redis

from salesnav.handlers import rule_settings
from salesnav.jobs.clock import PERIODIC, Clock
from salesnav.jobs.leader import LocalLeadership
from tests import factories as f
from tests.bot.chat import Chat, button
from tests.bot.conftest import LiveApp, serve
from tests.bot.test_media_capture import heard, send_voice, spoken_amr  # noqa: F401 (fixtures)
from tests.handlers.battle_pack.arrange import customer, local

MONDAY = date(2026, 3, 2)
SATURDAY = date(2026, 3, 7)
JOB = next(p for p in PERIODIC if p.id == "reports.daily_due")


@pytest.fixture
def app(settings, database) -> Iterator[LiveApp]:
    if settings.redis_url:
        Redis.from_url(settings.redis_url).flushdb()
    yield from serve(settings)


@pytest.fixture
def org(session, frozen_clock):
    frozen_clock.set(local(MONDAY, 9))
    org = f.org(session)
    customer(session, org.rep, "华山医院", contact=("李总", "设备科"))
    session.commit()
    return org


def tick(app: LiveApp) -> None:
    Clock(LocalLeadership(), periodic=[JOB]).tick(JOB)
    app.drain()


def report_cards(chat: Chat) -> list[dict]:
    return [
        m["payload"]
        for m in chat.sent()
        if m["msgtype"] == "template_card" and m["payload"]["main_title"]["title"].startswith("今日日报")
    ]


def test_a_day_captured_in_chat_comes_back_at_six_as_the_reps_daily_report(app, org, frozen_clock):
    rep = Chat(app, "rep01")
    frozen_clock.set(local(MONDAY, 11))
    rep.say("触点 华山医院 面访 积极 李总在场 演示了新球管 下周二送样")
    rep.say("商机 CT球管 58万")

    frozen_clock.set(local(MONDAY, 17, 59))
    tick(app)
    assert report_cards(rep) == []  # not before the hour

    frozen_clock.set(local(MONDAY, 18))
    tick(app)
    [card] = report_cards(rep)
    assert card["main_title"] == {
        "title": "今日日报 · 3月2日（周一）",
        "desc": "已根据您今天的记录自动生成，无误请点「确认提交」",
    }
    assert "华山医院 面访·积极" in card["sub_title_text"]
    assert "送样（3月10日18:00前）" in card["sub_title_text"]  # the next action with its due, from 下周二
    assert "• 商机 华山医院·CT球管：新建商机（初步接触）" in card["sub_title_text"]
    rows = {r["keyname"]: r["value"] for r in card["horizontal_content_list"]}
    assert rows["触点"] == "1 条（有效 1）" and rows["商机推进"] == "1 个" and rows["下一步"] == "1 项"
    assert [b["text"] for b in card["button_list"]] == ["确认提交", "补充"]
    # The other rep logged nothing: their card says so and asks for nothing but a line, if any.
    [empty] = report_cards(Chat(app, "rep02"))
    assert empty["main_title"]["desc"] == "今天还没有记录：点「补充」后发一句文字或语音即可"
    assert Chat(app, "mgr01").sent() == []  # managers get the team report, not a rep's card

    frozen_clock.set(local(MONDAY, 18, 5))
    tick(app)
    assert len(report_cards(rep)) == 1  # once a day, however often the clock ticks

    rep.tap(card, button(card, "确认提交"))
    confirmed = rep.last_card()
    assert confirmed["main_title"]["desc"] == "已确认提交，主管可在「团队报告」页的日报中查看"
    assert [b["text"] for b in confirmed["button_list"]] == ["已确认", "再补充"]


def test_a_line_is_added_by_text_after_tapping_add_and_by_the_command(app, org, frozen_clock):
    rep = Chat(app, "rep01")
    frozen_clock.set(local(MONDAY, 18))
    tick(app)
    [card] = report_cards(rep)

    rep.tap(card, button(card, "补充"))
    assert rep.last_text() == "请直接发一句文字或一段语音，会补充到3月2日（周一）的日报。"
    rep.say("下午整理了投标资料")
    assert rep.last_text() == "✅ 已补充到3月2日（周一）的日报。"
    assert "• 补充：下午整理了投标资料" in rep.last_card()["sub_title_text"]

    rep.say("日报 明天约华山医院李总")
    lines = rep.last_card()["sub_title_text"]
    assert "• 补充：下午整理了投标资料\n• 补充：明天约华山医院李总" == lines

    # Past the window, a plain message is no longer taken as a line.
    frozen_clock.advance(timedelta(minutes=31))
    rep.tap(card, button(card, "补充"))
    frozen_clock.advance(timedelta(minutes=31))
    rep.say("随便说一句")
    assert "没看懂这条消息" in rep.last_text()


def test_no_daily_report_on_a_weekend_or_when_switched_off(app, org, frozen_clock, session):
    frozen_clock.set(local(SATURDAY, 18))
    tick(app)
    assert report_cards(Chat(app, "rep01")) == []

    rule_settings.update(session, None, "reports.enabled", False)
    session.commit()
    frozen_clock.set(local(MONDAY + timedelta(days=7), 18))
    tick(app)
    assert report_cards(Chat(app, "rep01")) == []


def test_the_hour_is_a_setting_the_admin_sees(app, org, frozen_clock, session):
    rule_settings.update(session, None, "reports.daily_hour", 17)
    session.commit()
    frozen_clock.set(local(MONDAY, 17))
    tick(app)
    assert len(report_cards(Chat(app, "rep01"))) == 1
    from salesnav.pages.admin.settings_page import keys

    assert "reports.daily_hour" in keys()


def test_a_voice_note_after_tapping_add_becomes_a_line_of_the_report(app, org, frozen_clock, spoken_amr, heard):  # noqa: F811
    rep = Chat(app, "rep01")
    frozen_clock.set(local(MONDAY, 18))
    tick(app)
    [card] = report_cards(rep)
    rep.tap(card, button(card, "补充"))
    send_voice(rep, spoken_amr)

    assert rep.last_text() == "✅ 语音已转成文字，补充到3月2日（周一）的日报（识别内容可能有误）。"
    assert rep.last_card()["sub_title_text"] == f"• 补充：{heard}"
