"""推进 in chat, through signed callbacks and the emulator: the bot asks for each missing checklist item (text, a
photo or a file, 已完成 where a tick is allowed) and the move goes through the same handler as the API."""

from __future__ import annotations

import io

import pytest
from PIL import Image
from sqlalchemy import select

from salesnav.models import CollaborationTicket, Opportunity, StageTransition
from salesnav.models import session as db
from tests import factories as f
from tests.bot.chat import Chat, button
from tests.bot.test_excel_chat import send_file
from tests.bot.test_media_capture import send_photo
from tests.miniprogram_api.test_attachments import pptx_bytes


@pytest.fixture
def deal(session, frozen_clock, live_app):
    org = f.org(session)
    hospital = f.customer(session, org.rep, name="六安市立医院")
    f.customer(session, org.rep, name="六安市人民医院")
    f.touchpoint(session, org.rep, hospital, summary="设备科初访")
    session.commit()
    return org


@pytest.fixture
def chat(live_app, deal) -> Chat:
    return Chat(live_app, "rep01")


def _photo() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), (20, 120, 200)).save(out, format="JPEG")
    return out.getvalue()


def _deal() -> Opportunity:
    with db.transaction() as session:
        opp = session.scalars(select(Opportunity)).one()
        _ = opp.stage.name, [e.item.name for e in opp.evidence]
        return opp


def test_a_rep_creates_a_deal_and_moves_it_stage_by_stage_giving_each_item_in_chat(chat):
    chat.say("商机 监护仪 32万")
    created = chat.last_card()
    assert created["main_title"]["title"] == "✅ 已创建商机"
    assert {r["keyname"]: r["value"] for r in created["horizontal_content_list"]}["阶段"] == "初步接触"

    chat.tap(created, button(created, "推进到需求确认"))
    assert "推进「六安市立医院·监护仪」到「需求确认」，还需补齐 1 项检查清单" in chat.last_text()
    assert "「客户需求记录」：请直接回复文字" in chat.last_text()
    chat.say("科室需要 12 台床旁监护仪，明年一季度招标")
    moved = chat.last_card()
    assert moved["main_title"]["title"] == "✅ 已推进到「需求确认」"
    assert _deal().stage.name == "需求确认"

    chat.tap(moved, button(moved, "推进到方案演示"))
    ask = chat.last_text()
    assert "还需补齐 3 项" in ask and "「演示PPT」：请拍照或发送文件（图片、PDF 或 PPT）" in ask
    chat.say("演示稿已经发给主任了")  # words cannot stand in for a file
    assert "还差 「演示PPT」" in chat.last_text() and "文字不能代替" in chat.last_text()
    send_file(chat, pptx_bytes(), "监护仪方案.pptx")
    assert "已收到。还差 2 项，下一项 「客户问题清单」" in chat.last_text()
    send_photo(chat, _photo())
    assert "下一项 「内部资源协调记录」" in chat.last_text()
    chat.say("已约临床工程师周三到场")
    assert chat.last_card()["main_title"]["title"] == "✅ 已推进到「方案演示」"

    opp = _deal()
    assert opp.stage.name == "方案演示"
    evidence = {e.item.name: e for e in opp.evidence}
    assert evidence["演示PPT"].attachment_id and evidence["客户问题清单"].attachment_id
    assert evidence["内部资源协调记录"].text == "已约临床工程师周三到场"
    with db.transaction() as session:
        rows = session.scalars(select(StageTransition).order_by(StageTransition.id)).all()
        assert [(r.to_stage.name, r.checklist_complete) for r in rows] == [
            ("初步接触", True),
            ("需求确认", True),
            ("方案演示", True),
        ]


def test_the_text_command_names_customer_and_stage_and_asks_for_every_stage_on_the_way(chat):
    chat.say("商机 监护仪 32万")
    chat.say("推进 六安市立 样品测试")
    ask = chat.last_text()
    assert "到「样品测试」，还需补齐 5 项检查清单" in ask
    assert "1. 需求确认 · 客户需求记录" in ask and "5. 样品测试 · 样品申请单" in ask
    chat.say("取消")
    assert chat.last_text() == "已取消推进，商机仍在「初步接触」。"
    assert _deal().stage.name == "初步接触"


def test_a_move_completed_in_chat_opens_the_ticket_as_the_api_does(chat):
    chat.say("商机 监护仪 32万")
    chat.say("推进 六安市立 样品测试")
    chat.say("12 台床旁监护仪")
    for name in ("方案.pptx", "问题清单.pptx"):
        send_file(chat, pptx_bytes(), name)
    chat.say("临床工程师已协调")
    send_photo(chat, _photo())  # 样品申请单, photographed
    assert chat.last_card()["main_title"]["title"] == "✅ 已推进到「样品测试」"
    with db.transaction() as session:
        ticket = session.scalars(select(CollaborationTicket)).one()
        assert {p.department.name for p in ticket.parts} == {"市场部", "交付部"}


def test_moving_a_deal_the_rep_does_not_have_or_to_no_stage_is_answered_in_chinese(chat):
    chat.say("推进 六安市立 方案演示")
    assert chat.last_text() == "「六安市立医院」没有进行中的商机。先发「商机 产品线 金额」建一个。"
    chat.say("商机 监护仪 32万")
    chat.say("推进 六安市立 签约")
    assert chat.last_text() == "没有名为「签约」的销售阶段"
    chat.say("推进 六安 方案演示")
    assert "对应多个客户" in chat.last_text()
