"""A rep sends a spreadsheet to the bot: a preview card, one tap on 确认导入, and a message when it is done."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from salesnav.bot.emulator import callbacks
from salesnav.bot.emulator.state import STATE
from salesnav.models import Customer, ExcelImport, ImportStatus, OutboundMessage, OutboundStatus
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
    done, digest = [m["payload"]["content"] for m in chat.sent() if m["msgtype"] == "text"][-2:]
    assert done.startswith("「我的客户.xlsx」导入完成：新建客户 4，联系人 5，触点 7，商机 2；失败 0 行。")
    assert "条提示，查看：" in done and "/m/work/import/index?id=" in done
    # Then, not before it, what to do about the deals that came in already silent.
    assert digest.startswith("1 个导入的商机已超过 72 小时未跟进（来自「我的客户.xlsx」）")
    with db.transaction() as s:
        assert s.scalars(select(ExcelImport)).one().status is ImportStatus.DONE


def test_a_broken_sheet_in_chat_gets_a_chinese_reason(chat):
    send_file(chat, sheets.xlsx({"S": [["客户名称", "手机", "备注"]]}), "空表.xlsx")
    assert chat.last_text().startswith("表格无法导入：表格里只有表头")
    assert customers() == 0


def test_a_file_that_is_not_a_sheet_is_declined(chat):
    send_file(chat, b"%PDF-1.4 ...", "合同.pdf")
    assert chat.last_text() == "目前只能导入 Excel（.xlsx / .xls）或 CSV 表格文件。"


def test_the_chat_preview_says_merges_whose_customers_and_every_note_before_the_tap(chat, org, session):
    f.customer(session, org.other_rep, name="常州市妇幼保健院")
    session.commit()
    data = sheets.xlsx(
        {
            "台账": [
                ["客户名称", "联系人", "手机", "阶段", "金额", "跟进记录"],
                ["常州第一人民医院（本部）", "张主任", 13812345678.0, "报价", "58万", "2026/1/5 面谈"],
                ["常州第一人民医院", "张主任", "+86 138 1234 5678", None, None, "2026/1/20 电话"],
                ["常州市妇幼保健医院", "陈护士长", "1381234567", None, "一些钱", "2026/2/2 拜访"],
            ]
        }
    )
    send_file(chat, data, "台账.xlsx")
    card = chat.last_card()
    assert "共 3 行：新客户 1，已有客户 0，触点 2，商机 1" in card["main_title"]["desc"]
    assert card["sub_title_text"] == (
        "同一客户的不同写法 1 行已合并；其他同事的客户 1 个，默认申请转交、暂不写入"
        "（要改为记在其名下，点卡片在客户端处理）；提示 2 条（见下一条消息）"
    )
    imp_id = card["task_id"].removeprefix("xls-")
    assert card["card_action"]["url"].endswith(f"/m/work/import/index?id={imp_id}")
    text = chat.last_text().splitlines()
    assert text[:7] == [
        "「台账.xlsx」导入预览（确认前未写入任何数据）：",
        "同一客户，已合并（1）：",
        "· 台账 第3行「常州第一人民医院」并入第2行「常州第一人民医院（本部）」"
        "（名称相同（去掉分院/括号/有限公司等写法差异后））",
        "其他同事的客户，不会重复建档（1）：",
        "· 「常州市妇幼保健院」归属周销售（第4行）：申请转交（暂不写入）",
        "提示（2）：",
        "· 台账 第2行 阶段「报价」读作「商务谈判」",
    ]
    # Where the new deal will stop, said before the tap: no checklist on the way has evidence yet.
    assert text[7].startswith("· 台账 第2行 阶段为「商务谈判」，但无法推进到「商务谈判」：途经阶段的检查清单未完成——")
    assert text[7].endswith("商机停在「初步接触」，补齐后可在客户端的商机推进卡上推进")
    assert "第4行 金额" not in chat.last_text()  # a row handed over is not written: its reason, no notes
    assert text[8].startswith("要拆分合并的客户、改为记在同事客户名下或逐个决定疑似重复，请在客户端处理：")
    assert customers() == 1  # only 周销售's: nothing written before the tap


def test_a_long_list_of_notes_arrives_whole_in_several_messages(chat):
    rows = [["客户名称", "联系人", "手机", "备注"]]
    for n in range(8):  # every section of the preview full: merges, rows left out, notes
        rows += [
            [f"嘉兴市第{n}人民医院（本部）", f"张主任{n}", f"1381234560{n}", f"2026/1/{n + 1} 面谈，介绍超声设备"],
            [f"嘉兴市第{n}人民医院", f"张主任{n}", f"1381234560{n}", f"2026/1/{n + 11} 电话回访，客户要求再发资料"],
            [None, f"无名{n}", f"1391234560{n}", "2026/1/3 拜访，忘了记客户名称"],
            [f"湖州市第{n}妇幼保健院", f"陈护士长{n}", f"138123{n:04d}", f"2026/1/{n + 5} 电话"],
        ]
    send_file(chat, sheets.xlsx({"跟进表": rows}), "客户跟进表_董艳_2025下半年.xlsx")
    card = chat.last_card()
    assert card["main_title"]["title"] == "导入预览：客户跟进表_董艳_2025下….xlsx"  # shortened, still an .xlsx
    assert "条（见下一条消息）" in card["sub_title_text"]
    texts = [m["payload"]["content"] for m in chat.sent() if m["msgtype"] == "text"]
    details = [t for t in texts if "导入预览（确认前未写入任何数据）" in t or t.startswith("（续）")]
    assert len(details) > 1  # one message would be refused by WeCom (over 2,048 bytes)
    assert all(len(t.encode()) <= 2048 for t in details)
    lines = [line for t in details for line in t.splitlines()]
    assert "同一客户，已合并（8）：" in lines and "不会导入的行（8）：" in lines
    assert lines.index("同一客户，已合并（8）：") < lines.index("不会导入的行（8）：")  # in order, across messages
    assert details[-1].splitlines()[-1].startswith("要拆分合并的客户、改为记在同事客户名下")
    with db.transaction() as s:
        assert not s.scalars(select(OutboundMessage).where(OutboundMessage.status == OutboundStatus.FAILED)).all()
