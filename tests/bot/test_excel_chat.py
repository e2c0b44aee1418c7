"""A rep sends a spreadsheet to the bot: a preview card, one tap on 确认导入, and a message when it is done."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from salesnav.bot.emulator import callbacks
from salesnav.bot.emulator.state import STATE
from salesnav.models import Customer, ExcelImport, ImportStatus
from salesnav.models import session as db
from tests import factories as f
from tests.bot.chat import Chat, button
from tests.handlers.excel_import import sheets


@pytest.fixture
def org(session, frozen_clock, live_app):
    org = f.org(session)
    session.commit()
    return org


@pytest.fixture
def chat(live_app, org):
    return Chat(live_app, "rep01")


def send_file(chat: Chat, data: bytes, name: str) -> None:
    media = STATE.add_media("file", name, "application/octet-stream", data)
    xml = callbacks._xml(
        chat.settings.wecom.corp_id,
        chat.userid,
        "file",
        None,
        MediaId=media.media_id,
        FileName=name,
        MsgId=callbacks._msg_id(None),
        AgentID=chat.settings.wecom.agent_id,
    )
    chat.post(xml)


def customers() -> int:
    with db.transaction() as s:
        return s.scalar(select(func.count()).select_from(Customer).where(Customer.deleted_at.is_(None)))


def test_a_sheet_sent_in_chat_is_previewed_confirmed_and_reported_done(chat):
    send_file(chat, sheets.rep_sheet(), "我的客户.xlsx")
    card = chat.last_card()
    assert card["main_title"]["title"] == "导入预览：我的客户.xlsx"
    assert "共 5 行：新客户 4，已有客户 0，触点 7，商机 2" in card["main_title"]["desc"]
    assert customers() == 0  # nothing written before the tap

    chat.tap(card, button(card, "确认导入"))
    chat.live.drain()
    assert customers() == 4
    assert chat.last_text().startswith("「我的客户.xlsx」导入完成：新建客户 4，联系人 5，触点 7，商机 2；失败 0 行。")
    assert "条提示，查看：" in chat.last_text() and "/m/work/import/index?id=" in chat.last_text()
    with db.transaction() as s:
        assert s.scalars(select(ExcelImport)).one().status is ImportStatus.DONE


def test_a_broken_sheet_in_chat_gets_a_chinese_reason(chat):
    send_file(chat, sheets.xlsx({"S": [["客户名称", "手机", "备注"]]}), "空表.xlsx")
    assert chat.last_text().startswith("表格无法导入：表格里只有表头")
    assert customers() == 0


def test_a_file_that_is_not_a_sheet_is_declined(chat):
    send_file(chat, b"%PDF-1.4 ...", "合同.pdf")
    assert chat.last_text() == "目前只能导入 Excel（.xlsx / .xls）或 CSV 表格文件。"
