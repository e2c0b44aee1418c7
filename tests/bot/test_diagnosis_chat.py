"""客户健康度诊断 from the chat, through the callback and the emulator: `诊断 客户名` and the card button."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from salesnav import clock
from salesnav.jobs.rules import run_scan
from salesnav.models import DomainEvent, Emotion
from salesnav.models import session as db
from tests import factories as f
from tests.bot.chat import Chat, button
from tests.rules.arrange import deal


def _uses() -> int:
    with db.transaction() as s:
        return s.scalar(select(func.count()).where(DomainEvent.kind == "health.diagnosis_requested"))


def test_a_rep_asks_for_a_diagnosis_by_name_and_gets_colour_reasons_and_steps(session, frozen_clock, live_app):
    org = f.org(session)
    customer = f.customer(session, org.rep, name="北京协和医院")
    f.touchpoint(session, org.rep, customer, emotion=Emotion.RESISTANT, contact_ids=[customer.contacts[0].id])
    session.commit()
    rep = Chat(live_app, "rep01")

    rep.say("诊断 协和")

    text = rep.last_text()
    assert text.startswith("【客户健康度诊断】北京协和医院：")
    assert "原因：" in text and "决策链已覆盖 1/4 个角色（使用者）" in text
    assert "建议下一步：\n1. 本周安排一次面访" in text
    assert _uses() == 1


def test_a_rep_cannot_diagnose_another_reps_customer_from_the_chat(session, frozen_clock, live_app):
    org = f.org(session)
    f.customer(session, org.rep, name="北京协和医院")
    f.customer(session, org.other_rep, name="上海长征医院")
    session.commit()
    other = Chat(live_app, "rep02")
    other.say("诊断 北京协和医院")
    assert other.last_text().startswith("没有找到客户「北京协和医院」")
    assert _uses() == 0


def test_diagnosis_without_a_name_says_how_to_ask(session, frozen_clock, live_app):
    f.org(session)
    session.commit()
    rep = Chat(live_app, "rep01")
    rep.say("诊断")
    assert rep.last_text() == "请写上客户名称，例如：诊断 协和医院"


def test_a_manager_diagnoses_the_customer_of_an_alert_with_one_tap(session, frozen_clock, live_app):
    org = f.org(session)
    deal(session, org)
    session.commit()
    frozen_clock.advance(timedelta(hours=72, minutes=1))
    run_scan(clock.now())
    live_app.drain()
    manager = Chat(live_app, "mgr01")
    card = next(m["payload"] for m in manager.sent() if m["msgtype"] == "template_card")

    manager.tap(card, button(card, "客户诊断"))

    text = manager.last_text()
    assert text.startswith("【客户健康度诊断】协和医院：")
    assert "✓ 商机「CT球管更换」在「初步接触」3 天（无同类历史可比）" in text
    assert "✗ 决策链已覆盖 0/4 个角色（无）" in text and _uses() == 1


def test_the_chat_diagnosis_gives_each_open_deals_win_probability(session, frozen_clock, live_app):
    org = f.org(session)
    deal(session, org, customer_name="北京协和医院", stage="negotiation")
    session.commit()
    rep = Chat(live_app, "rep01")

    rep.say("诊断 协和")

    text = rep.last_text()
    assert (
        "赢单概率：\n商机「CT球管更换」赢单概率 75%\n  依据：已结商机不足 60 个（赢、输各至少 10 个）前，按阶段赢率表计"
        in text
    )
