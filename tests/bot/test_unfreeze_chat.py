"""解除冻结 through the real callback and the WeCom emulator: the director gets the credit freeze with a 解除冻结
button, taps it, and the next text is the reason; rep and manager are told. Nobody else can lift it in the chat."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from salesnav.bot.emulator import STATE, callbacks
from salesnav.models import Alert, Annotation, AuditEntry, CreditWaiver, Opportunity
from salesnav.models import session as db
from tests import factories as f
from tests.bot.chat import Chat, button
from tests.rules.arrange import frozen_deal

REASON = "客户已签预付款协议，首付30%"


@pytest.fixture
def frozen(session, frozen_clock, live_app) -> dict[str, Any]:
    """rep01's 580,000 CNY deal at 协和医院 (75 % on time) was frozen when rep01 asked for 合同审批."""
    org = f.org(session)
    opp_id = frozen_deal(session, org, live_app.drain)
    with db.transaction() as s:
        alert = s.scalars(select(Alert).where(Alert.rule == "credit_check")).one()
    return {"org": org, "opp_id": opp_id, "alert_id": alert.id}


@pytest.fixture
def director(live_app) -> Chat:
    return Chat(live_app, "dir01")


def _freeze_card(chat: Chat, alert_id: int) -> dict[str, Any]:
    cards = [m["payload"] for m in chat.sent() if m["msgtype"] == "template_card"]
    return next(c for c in cards if any(b["key"] == f"ann:pick:{alert_id}" for b in c.get("button_list", [])))


def _deal(opp_id: int) -> Opportunity:
    with db.transaction() as s:
        return s.get(Opportunity, opp_id)


def _texts(chat: Chat) -> list[str]:
    return [m["payload"]["content"] for m in chat.sent() if m["msgtype"] == "text"]


def test_the_director_lifts_the_freeze_from_the_card_and_the_next_text_is_the_reason(frozen, director, live_app):
    card = _freeze_card(director, frozen["alert_id"])
    assert [b["text"] for b in card["button_list"]] == ["批注", "客户诊断", "解除冻结"]
    assert card["quote_area"]["quote_text"].endswith(
        "如确需继续，请点卡片上的「解除冻结」并写明理由，或在商机页面解除。"
    )

    director.tap(card, button(card, "解除冻结"))
    assert director.last_text().startswith("请在 10 分钟内直接回复一条文字，写明解除客户「协和医院」的商机")
    assert director.last_card()["main_title"]["title"] == "解除审批冻结 · 请发送理由"
    assert _deal(frozen["opp_id"]).approval_frozen  # nothing lifted before the reason

    director.say(REASON)

    assert director.last_text() == (
        "✅ 已解除客户「协和医院」的商机「CT球管更换」的审批冻结，理由已记录，已通知李销售、钱主管。"
        "按 ¥580,000.00 重新提交合同审批时不再做信用校验（金额变更后将重新校验）。"
    )
    assert not _deal(frozen["opp_id"]).approval_frozen
    lifted = (
        "【审批冻结已解除】销售总监赵总监已解除客户「协和医院」的商机「CT球管更换」（预计 ¥580,000.00）的审批冻结，"
        f"理由：{REASON}。可以重新提交合同审批，按此金额不再做信用校验（金额变更后将重新校验）。"
    )
    assert Chat(live_app, "rep01").last_text() == lifted
    assert Chat(live_app, "mgr01").last_text() == lifted
    with db.transaction() as s:
        entry = s.scalars(select(AuditEntry).where(AuditEntry.action == "approval_unfreeze")).one()
        assert (entry.actor_id, entry.after["lift_reason"], entry.after["channel"]) == (
            frozen["org"].director.id,
            REASON,
            "chat",
        )
        assert s.scalars(select(CreditWaiver)).one().reason == REASON
        assert s.scalars(select(Annotation)).all() == []  # the reason was not taken as a 批注 on the alert

    director.say("辛苦了")  # the question is answered: the next text is not another reason
    assert director.last_text().startswith("没看懂这条消息")


def test_a_manager_gets_no_button_and_a_forged_tap_is_refused_in_chinese(frozen, live_app):
    manager = Chat(live_app, "mgr01")
    card = _freeze_card(manager, frozen["alert_id"])
    assert [b["text"] for b in card["button_list"]] == ["批注", "客户诊断"]
    manager.tap(card, f"unfreeze:ask:{frozen['opp_id']}")
    assert manager.last_text() == "只有销售总监或管理员可以解除审批冻结"
    manager.say("客户信誉好，放行")  # not a reason: a 批注 on the alert, as before
    assert _deal(frozen["opp_id"]).approval_frozen


def test_cancel_keeps_the_freeze(frozen, director):
    card = _freeze_card(director, frozen["alert_id"])
    director.tap(card, button(card, "解除冻结"))
    director.say("取消")
    assert director.last_text() == "已取消，审批仍处于冻结状态。"
    assert _deal(frozen["opp_id"]).approval_frozen


def test_a_voice_note_is_not_taken_as_the_reason(frozen, director):
    card = _freeze_card(director, frozen["alert_id"])
    director.tap(card, button(card, "解除冻结"))
    media = STATE.add_media("voice", "note.amr", "audio/amr", b"#!AMR\n" + b"\x00" * 32)
    director.post(callbacks.voice_xml(director.settings, "dir01", media.media_id, fmt="amr"))
    assert director.last_text() == "解除冻结的理由请用文字发送（将原样记入审计）。回复「取消」则不解除。"
    director.say(REASON)  # the question still stands
    assert not _deal(frozen["opp_id"]).approval_frozen


def test_the_question_lapses_after_the_window(frozen, director, frozen_clock):
    card = _freeze_card(director, frozen["alert_id"])
    director.tap(card, button(card, "解除冻结"))
    frozen_clock.advance(timedelta(minutes=11))
    director.say(REASON)
    assert _deal(frozen["opp_id"]).approval_frozen
    assert not any(t.startswith("✅ 已解除") for t in _texts(director))


def test_a_tap_after_someone_else_lifted_it_says_so(frozen, director, live_app, session):
    from salesnav.handlers.approvals import lift_freeze

    lift_freeze(session, frozen["org"].admin, opportunity_id=frozen["opp_id"], reason="按总监电话指示解除")
    session.commit()
    live_app.drain()
    card = _freeze_card(director, frozen["alert_id"])
    director.tap(card, button(card, "解除冻结"))
    assert director.last_text() == "该商机的审批未被冻结（可能已被解除）"
