"""Quick capture (无感采集) in the chat, end to end: callback → router → handlers → outbox → emulator."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

import pytest
from PIL import Image
from sqlalchemy import select

from salesnav.bot.emulator import callbacks
from salesnav.bot.emulator.state import STATE
from salesnav.handlers.tasks import create_task
from salesnav.models import (
    Attachment,
    CaptureSource,
    Contact,
    Customer,
    Emotion,
    InboundStatus,
    Opportunity,
    Touchpoint,
    TouchpointType,
)
from salesnav.models import session as db
from tests import factories as f
from tests.bot.chat import Chat, button, inbound_rows

SHANGHAI_TUE_18H = datetime(2026, 3, 10, 10, 0, tzinfo=UTC)  # 下周二 18:00 from Mon 2 March


@pytest.fixture
def org(session, frozen_clock, live_app):
    org = f.org(session)
    f.customer(session, org.rep, name="北京协和医院")
    f.customer(session, org.rep, name="上海瑞金医院")
    recent = f.customer(session, org.rep, name="华山医院")
    f.touchpoint(
        session, org.rep, recent, occurred_at=frozen_clock.now() - timedelta(days=3), type=TouchpointType.PHONE
    )
    session.commit()
    return org


@pytest.fixture
def chat(live_app, org) -> Chat:
    return Chat(live_app, "rep01")


def _touchpoints() -> list[Touchpoint]:
    with db.transaction() as session:
        rows = list(session.scalars(select(Touchpoint).order_by(Touchpoint.id)))
        for tp in rows:
            _ = tp.customer.name, [c.name for c in tp.contacts]
        return rows


def test_a_rep_logs_a_touchpoint_in_two_taps(chat, frozen_clock):
    chat.click("TOUCHPOINT_NEW")
    card = chat.last_card()
    assert card["card_type"] == "button_interaction"
    assert card["button_list"][0]["text"] == "华山医院"  # the recent customer first

    chat.tap(card, button(card, "北京协和医院"))  # tap 1
    card = chat.last_card()  # updated in place
    assert card["main_title"]["title"] == "记触点 · 北京协和医院"
    assert card["button_selection"]["selected_id"] == "phone"  # the rep's usual type is pre-selected

    chat.tap(card, button(card, "积极"), selected={"tp_type": ["visit"]})  # tap 2
    new = [tp for tp in _touchpoints() if tp.customer.name == "北京协和医院"]
    assert len(new) == 1
    tp = new[0]
    assert (tp.type, tp.emotion, tp.source) == (TouchpointType.VISIT, Emotion.POSITIVE, CaptureSource.CHAT_BUTTON)
    assert tp.form_opened_at is not None and tp.submitted_at is not None
    saved = chat.last_card()
    assert saved["main_title"]["title"].startswith("✅ 触点已保存")
    assert {"keyname": "情绪", "value": "积极"} in saved["horizontal_content_list"]


def test_the_next_text_becomes_the_summary_and_next_action_with_a_shanghai_due_time(chat, frozen_clock):
    chat.click("TOUCHPOINT_NEW")
    card = chat.last_card()
    chat.tap(card, button(card, "上海瑞金医院"))
    chat.tap(chat.last_card(), button(chat.last_card(), "中性"), selected={"tp_type": ["wechat"]})

    frozen_clock.advance(timedelta(minutes=3))
    chat.say("主任对新球管感兴趣，下一步：下周二送样")
    tp = next(t for t in _touchpoints() if t.customer.name == "上海瑞金医院")
    assert tp.summary == "主任对新球管感兴趣"
    assert tp.next_action == "送样" and tp.next_action_due == SHANGHAI_TUE_18H
    assert "已补充到触点" in chat.last_text() and "3月10日 18:00" in chat.last_text()
    final = chat.last_card()  # the card shows what was saved, using the code the send returned
    assert {"keyname": "下一步", "value": "送样（3月10日 18:00）"} in final["horizontal_content_list"]


def test_a_text_after_the_capture_window_is_not_taken_as_a_summary(chat, frozen_clock):
    chat.click("TOUCHPOINT_NEW")
    card = chat.last_card()
    chat.tap(card, button(card, "上海瑞金医院"))
    chat.tap(chat.last_card(), button(chat.last_card(), "积极"))
    frozen_clock.advance(timedelta(minutes=11))  # the default window is 10 minutes
    chat.say("主任对新球管感兴趣")
    tp = next(t for t in _touchpoints() if t.customer.name == "上海瑞金医院")
    assert tp.summary == ""
    assert chat.last_text().startswith("没看懂")


def test_a_power_user_logs_a_touchpoint_with_one_text_command(chat):
    chat.say("触点 协和 面访 积极 下周二送样")
    tp = next(t for t in _touchpoints() if t.customer.name == "北京协和医院")
    assert (tp.type, tp.emotion, tp.source) == (TouchpointType.VISIT, Emotion.POSITIVE, CaptureSource.CHAT_TEXT)
    assert tp.next_action == "送样" and tp.next_action_due == SHANGHAI_TUE_18H
    assert chat.last_text().startswith("✅ 已记录触点：北京协和医院，面访，积极")


def test_an_ambiguous_or_unknown_customer_is_answered_not_guessed(chat, session, org):
    f.customer(session, org.rep, name="上海协和医院")
    session.commit()
    chat.say("触点 协和 面访 积极")
    assert "对应多个客户" in chat.last_text()
    chat.say("触点 同仁医院 电话")
    assert "没有找到客户「同仁医院」" in chat.last_text()
    assert [t.customer.name for t in _touchpoints()] == ["华山医院"]


def test_unparseable_text_gets_a_short_chinese_help_reply(chat):
    chat.say("今天天气不错")
    assert chat.last_text().startswith("没看懂这条消息") and "记触点" in chat.last_text()


def test_new_opportunity_asks_only_for_what_is_missing(chat):
    chat.click("OPPORTUNITY_NEW")
    assert "为「华山医院」建商机" in chat.last_text()
    chat.say("CT球管")
    assert chat.last_text() == "还差预计金额，请回复，例如：58万"
    chat.say("58万")
    with db.transaction() as session:
        opp = session.scalars(select(Opportunity)).one()
        assert (opp.title, opp.product_line, opp.expected_amount_fen) == ("华山医院·CT球管", "CT球管", 58_000_000)
        assert session.get(Touchpoint, opp.last_touchpoint_id).opportunity_id == opp.id
    card = chat.last_card()
    assert (card["main_title"]["title"], card["main_title"]["desc"]) == ("✅ 已创建商机", "华山医院·CT球管")
    assert {r["keyname"]: r["value"] for r in card["horizontal_content_list"]}["预计金额"] == "58万元"


def test_new_opportunity_in_one_message_and_refused_twice_for_the_same_touchpoint(chat):
    chat.say("商机 CT球管 58万")
    assert chat.last_card()["main_title"]["title"] == "✅ 已创建商机"
    chat.click("OPPORTUNITY_NEW")
    assert "已关联商机「华山医院·CT球管」" in chat.last_text()


def test_my_tasks_and_the_battle_pack_list_open_work(chat, session, org, frozen_clock):
    create_task(
        session, None, assignee_id=org.rep.id, title="给协和送样机", due_at=frozen_clock.now() - timedelta(hours=2)
    )
    create_task(session, None, assignee_id=org.rep.id, title="准备招标文件")
    session.commit()
    chat.click("MY_TASKS")
    text = chat.last_text()
    assert text.startswith("您有 2 件待办（按优先级排列，前 3 件即今日作战包所列）")
    assert "1. 给协和送样机（已逾期 2小时）" in text and "2. 准备招标文件" in text

    chat.click("BATTLE_PACK")  # the full pack: tests/handlers/battle_pack/, tests/jobs/test_battle_pack.py
    text = [m["payload"]["content"] for m in chat.sent() if m["msgtype"] == "markdown"][-1]
    assert text.startswith("**今日作战包** · 3月2日 周一（截至 09:30）")
    assert '>1. <font color="warning">给协和送样机（已逾期 2小时）</font>' in text
    assert ">2. 准备招标文件" in text


def test_my_tasks_lists_the_packs_todos_first_and_names_each_customer_once(chat, session, org, frozen_clock):
    from salesnav.bot.battle_pack_card import todo_line
    from salesnav.handlers.battle_pack import battle_pack_for

    now = frozen_clock.now()
    suzhou = f.customer(session, org.rep, name="苏州市肿瘤医院")
    create_task(  # a follow-up task titled the old way, the customer twice
        session,
        None,
        assignee_id=org.rep.id,
        title="跟进苏州市肿瘤医院：苏州市肿瘤医院超声更新项目",
        due_at=now + timedelta(hours=5),
        subject_type="customer",
        subject_id=suzhou.id,
    )
    xiehe = session.scalars(select(Customer).where(Customer.name == "北京协和医院")).one()
    f.touchpoint(session, org.rep, xiehe, occurred_at=now - timedelta(days=1), next_action="送样", next_action_due=now)
    for n in range(3):
        create_task(session, None, assignee_id=org.rep.id, title=f"整理资料{n + 1}", due_at=now + timedelta(days=n + 1))
    session.commit()

    chat.click("MY_TASKS")
    lines = chat.last_text().splitlines()[1:]
    assert len(lines) == 5
    assert not any(line.count("苏州市肿瘤医院") > 1 for line in lines), lines
    with db.transaction() as s:
        pack = battle_pack_for(s, s.get(type(org.rep), org.rep.id), now, chat.settings.business_tz)
    assert len(pack.todos) == 3  # five things due: the pack holds three
    tz = chat.settings.business_tz
    assert lines[:3] == [f"{i}. {todo_line(t, now, tz, markdown=False)}" for i, t in enumerate(pack.todos, 1)]


def test_a_photo_that_is_no_invoice_is_stored_as_an_attachment(chat, live_app):
    # Voice notes and invoice photos, recognised for real: tests/bot/test_media_capture.py.
    photo = io.BytesIO()
    Image.new("RGB", (40, 30), "white").save(photo, format="PNG")
    media = STATE.add_media("image", "invoice.png", "image/png", photo.getvalue())
    chat.post(callbacks.image_xml(live_app.settings, "rep01", media.media_id))
    with db.transaction() as session:
        assert session.scalars(select(Attachment)).one().content_type == "image/png"
    assert chat.last_text() == "图片已保存。"


def test_a_file_we_do_not_keep_is_refused_in_chinese_not_failed(chat, live_app):
    media = STATE.add_media("image", "x.exe", "application/octet-stream", b"MZ" + b"\x00" * 64)
    chat.post(callbacks.image_xml(live_app.settings, "rep01", media.media_id))
    assert inbound_rows()[-1].status is InboundStatus.PROCESSED
    assert chat.last_text().startswith("不支持的文件类型")


def test_a_voice_whose_media_cannot_be_fetched_marks_the_message_failed(chat, live_app):
    chat.post(callbacks.voice_xml(live_app.settings, "rep01", "no-such-media"))
    row = inbound_rows()[-1]
    assert row.status is InboundStatus.FAILED and "40007" in row.error


def test_adding_a_customers_wechat_files_customer_contact_and_a_wechat_touchpoint(chat, live_app):
    live_app.emulator.control(
        external_contacts={
            "wmZHANG": {
                "name": "张主任",
                "corp_name": "复旦大学附属中山医院",
                "position": "设备科主任",
                "follow_user": "rep01",
            }
        }
    )
    chat.post(callbacks.add_external_contact_xml(live_app.settings, "rep01", "wmZHANG"))
    with db.transaction() as session:
        contact = session.scalars(select(Contact).where(Contact.external_userid == "wmZHANG")).one()
        customer = session.get(Customer, contact.customer_id)
        assert (contact.name, contact.title, customer.name) == ("张主任", "设备科主任", "复旦大学附属中山医院")
        assert customer.owner_id == session.scalars(select(Customer.owner_id)).first()
    tp = next(t for t in _touchpoints() if t.customer.name == "复旦大学附属中山医院")
    assert (tp.type, tp.source) == (TouchpointType.WECHAT, CaptureSource.EXTERNAL_CONTACT)
    assert [c.name for c in tp.contacts] == ["张主任"]
    assert "已添加外部联系人「张主任」" in chat.last_text()

    chat.say("加了微信，约下周二面谈")  # the next message completes that touchpoint
    tp = next(t for t in _touchpoints() if t.customer.name == "复旦大学附属中山医院")
    assert tp.next_action_due == SHANGHAI_TUE_18H and tp.is_effective


def test_the_same_external_contact_event_delivered_three_times_files_it_once(chat, live_app):
    signed = callbacks.sign(live_app.settings, callbacks.add_external_contact_xml(live_app.settings, "rep01", "wmLI"))
    for _ in range(3):
        assert callbacks.post_callback(live_app.base_url, live_app.settings, signed).status_code == 200
    live_app.drain()
    with db.transaction() as session:
        assert len(session.scalars(select(Contact).where(Contact.external_userid == "wmLI")).all()) == 1
    assert len(chat.sent()) == 1


def test_entering_the_app_is_welcomed_once_a_day(chat, live_app, frozen_clock):
    chat.post(callbacks.enter_agent_xml(live_app.settings, "rep01"))
    frozen_clock.advance(timedelta(minutes=5))
    chat.post(callbacks.enter_agent_xml(live_app.settings, "rep01"))
    assert len(chat.sent()) == 1 and "您好，李销售" in chat.last_text()


def test_push_menu_posts_the_four_menu_keys_through_menu_create(live_app):
    from click.testing import CliRunner

    from salesnav.cli import main

    env = {
        "WECOM_EMULATOR": "1",
        "WECOM_API_BASE": live_app.emulator_url,
        "WECOM_SECRET": "",
        "WECOM_CORP_ID": live_app.settings.wecom.corp_id,
        "WECOM_AGENT_ID": str(live_app.settings.wecom.agent_id),
    }
    result = CliRunner().invoke(main, ["wecom", "push-menu"], env=env)
    assert result.exit_code == 0, result.output
    assert "TOUCHPOINT_NEW, OPPORTUNITY_NEW, BATTLE_PACK, MY_TASKS" in result.output
    pushed = STATE.menus[live_app.settings.wecom.agent_id]
    assert [b["name"] for b in pushed["button"]] == ["记触点", "建商机", "我的"]


def test_a_customer_is_found_by_a_few_characters_or_its_pinyin_initials(chat):
    chat.say("触点 协和 面访 积极")
    assert chat.last_text().startswith("✅ 已记录触点：北京协和医院")
    chat.say("触点 shrj 电话 中性")
    assert chat.last_text().startswith("✅ 已记录触点：上海瑞金医院")
    chat.say("触点 医院 电话 中性")
    assert chat.last_text() == "「医院」对应多个客户：上海瑞金医院、北京协和医院、华山医院。请写得更完整一些。"


def test_every_example_in_the_help_reply_works_when_typed(chat):
    from salesnav.bot.capture.text import HELP

    examples = [line.removeprefix("• ").split("（")[0].split("：")[0] for line in HELP.splitlines()[1:]]
    commands = [e for e in examples if e.split()[0] in ("触点", "商机", "推进")]
    assert len(commands) == 3
    for example in commands:
        chat.say(example)
        reply = chat.sent()[-1]
        text = reply["payload"].get("content", "") if reply["msgtype"] == "text" else ""
        assert not text.startswith(("没看懂", "没有找到")) and "对应多个客户" not in text, (example, text)


def test_contacts_tapped_on_the_card_and_named_in_the_note_make_the_touchpoint_effective_and_widen_coverage(
    chat, org, session, frozen_clock
):
    from salesnav.metrics.activity import effective_touchpoints_per_rep_week, touchpoint_quality
    from salesnav.metrics.scope import Scope, Window

    chat.click("TOUCHPOINT_NEW")
    card = chat.last_card()
    chat.tap(card, button(card, "北京协和医院"))
    card = chat.last_card()
    assert "点联系人标记在场" in card["main_title"]["desc"]
    assert button(card, "✓联系人1")  # the customer's only contact is there unless the rep taps them off
    chat.tap(card, button(card, "✓联系人1"))
    card = chat.last_card()
    chat.tap(card, button(card, "＋联系人1"))
    card = chat.last_card()
    chat.tap(card, button(card, "积极"))
    saved = chat.last_card()
    assert {r["keyname"]: r["value"] for r in saved["horizontal_content_list"]}["在场"] == "联系人1"

    chat.say("和王护士长一起看了样机，下一步：周五前送样")
    assert "在场：王护士长（新联系人，角色推测为使用者）" in chat.last_text()
    [tp] = [t for t in _touchpoints() if t.customer.name == "北京协和医院"]
    assert sorted(c.name for c in tp.contacts) == ["王护士长", "联系人1"]
    with db.transaction() as s:
        nurse = s.scalars(select(Contact).where(Contact.name == "王护士长")).one()
        assert (nurse.decision_role.label, nurse.decision_role_guessed) == ("使用者", True)

    week = Window(frozen_clock.now() - timedelta(days=7), frozen_clock.now() + timedelta(hours=1))
    effective = effective_touchpoints_per_rep_week(session, week, Scope.rep(org.rep))
    assert effective.numerator == 1  # a next action and people present: 有效触点
    quality = touchpoint_quality(session, week, Scope.rep(org.rep))
    # 积极 1.0 × one role (使用者) of four covered, beside 华山医院's earlier touchpoint with nobody recorded (0).
    assert quality.value == pytest.approx((1.0 * 1 / 4 + 0) / 2)
