"""Collaboration tickets (跨部门协同单) through the real callback and the WeCom emulator: the departments hear of a
part when it opens (a card with the request, the deal, the deadline and buttons), answer it from the card in
the chat, are reminded once before the deadline, and a rep's enablement request is a marketing part like any."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from PIL import Image
from sqlalchemy import select

from salesnav import clock
from salesnav.bot.emulator import STATE, callbacks
from salesnav.handlers.admin.org import set_ticket_notice_members
from salesnav.handlers.collaboration import add_enablement_request, tickets_of
from salesnav.handlers.dashboards.leaderboard import month_collaborations
from salesnav.handlers.opportunities import advance_stage
from salesnav.handlers.stages import stage_by_code
from salesnav.jobs import collaboration as collaboration_jobs
from salesnav.jobs.clock import PERIODIC
from salesnav.metrics import Window
from salesnav.metrics.collaboration import incentive_points_by_department
from salesnav.metrics.scope import Scope
from salesnav.models import (
    Attachment,
    DomainEvent,
    EnablementRequest,
    IncentivePoints,
    Material,
    Opportunity,
    PartStatus,
    Role,
    TicketPart,
)
from salesnav.models import session as db
from salesnav.settings import current_settings
from tests import factories as f
from tests.bot.chat import Chat, button
from tests.rules.arrange import deal

# The frozen clock starts on Monday 2026-03-02 09:30 in Shanghai: a 24 h part is due on Tuesday 09:30.
DUE_TUESDAY = "3月3日 09:30 前"


def _pdf(session, name: str = "样品申请单.pdf") -> Attachment:
    attachment = Attachment(
        sha256=name.encode().hex()[:64].ljust(64, "0"),
        filename=name,
        content_type="application/pdf",
        size_bytes=10,
        storage_path=f"x/{name}",
    )
    session.add(attachment)
    session.flush()
    return attachment


def _material(session, title: str, product_line: str | None) -> Material:
    material = Material(
        title=title,
        product_line=product_line,
        attachment_id=_pdf(session, f"{title}.pdf").id,
        tags=[],
        published_at=clock.now() - timedelta(days=1),
    )
    session.add(material)
    session.flush()
    return material


@pytest.fixture
def arranged(session, frozen_clock, live_app) -> dict[str, Any]:
    """A small org where the admin named a second marketer for ticket notices, two materials, and a deal in
    方案演示 (arranged directly: the earlier stages are not under test)."""
    org = f.org(session)
    colleague = f.user(session, "mkt02", Role.STAFF, org.marketing, name="冯市场")
    set_ticket_notice_members(session, org.admin, org.marketing.id, [colleague.id])
    other_line = _material(session, "超声探头白皮书", "超声")
    fitting = _material(session, "CT球管竞品对比", "CT球管")
    _, opp = deal(session, org, amount_fen=30_000_000, stage="solution_demo")
    session.commit()
    return {"org": org, "opp_id": opp.id, "fitting": fitting.id, "other_line": other_line.id}


def _enter_sample_test(session, org: f.Org, opp_id: int) -> None:
    """The rep moves the deal into 样品测试 through the real handler, with the stage's evidence."""
    evidence = f.evidence_for(session, org.rep, "sample_test")  # the 样品申请单, uploaded by the rep
    advance_stage(session, org.rep, opportunity_id=opp_id, to_stage="sample_test", evidence=evidence)
    session.commit()


@pytest.fixture
def opened(arranged, session, live_app) -> dict[str, Any]:
    _enter_sample_test(session, arranged["org"], arranged["opp_id"])
    live_app.drain()
    with db.transaction() as s:
        [ticket] = tickets_of(s, arranged["opp_id"])
        parts = {p.department.name: p.id for p in ticket.parts}
    return {**arranged, "ticket_id": ticket.id, "marketing": parts["市场部"], "delivery": parts["交付部"]}


def _cards(chat: Chat) -> list[dict[str, Any]]:
    return [m["payload"] for m in chat.sent() if m["msgtype"] == "template_card"]


def _rows(card: dict[str, Any]) -> dict[str, str]:
    return {row["keyname"]: row["value"] for row in card.get("horizontal_content_list", [])}


def _part(part_id: int) -> TicketPart:
    with db.transaction() as s:
        part = s.get(TicketPart, part_id)
        assert part is not None
        s.expunge(part)
        return part


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 30, 30)).save(out, "PNG")
    return out.getvalue()


# --- on opening ---------------------------------------------------------------------------------------


def test_a_deal_entering_sample_test_sends_each_department_a_card_with_the_deal_and_the_deadline(opened, live_app):
    marketing_head, delivery_head = Chat(live_app, "mkt01"), Chat(live_app, "dlv01")
    [card] = _cards(marketing_head)
    assert card["main_title"] == {"title": f"协同单 #{opened['ticket_id']} · 市场部", "desc": "提供竞品对比材料"}
    assert _rows(card) == {
        "客户": "协和医院",
        "商机": "CT球管更换",
        "金额": "30万元",
        "阶段": "样品测试",
        "截止": DUE_TUESDAY,
        "销售": "李销售",
    }
    assert [b["text"] for b in card["button_list"]] == ["选素材", "发文件"]
    assert "24 小时内附上材料" in card["sub_title_text"]

    [card] = _cards(delivery_head)
    assert card["main_title"]["desc"] == "确认排期并标注风险点"
    assert _rows(card)["截止"] == DUE_TUESDAY
    assert [b["text"] for b in card["button_list"]] == ["确认排期", "标注风险"]

    # The member the admin named hears of marketing's part too; nobody else does.
    assert [c["main_title"]["desc"] for c in _cards(Chat(live_app, "mkt02"))] == ["提供竞品对比材料"]
    assert _cards(Chat(live_app, "rep01")) == [] and _cards(Chat(live_app, "mgr01")) == []
    with db.transaction() as s:
        notified = s.scalars(select(DomainEvent).where(DomainEvent.kind == "collaboration.part_notified")).all()
        assert len(notified) == 2


def test_the_deadline_is_in_business_time_with_the_year_when_it_is_not_this_years(session, frozen_clock, live_app):
    from salesnav.bot.ticket_cards import deadline_text

    frozen_clock.set(datetime(2026, 12, 31, 3, 0, tzinfo=UTC))  # 11:00 in Shanghai
    assert deadline_text(datetime(2026, 12, 31, 6, 30, tzinfo=UTC), clock.now()) == "12月31日 14:30 前"
    assert deadline_text(datetime(2027, 1, 1, 3, 0, tzinfo=UTC), clock.now()) == "2027年1月1日 11:00 前"


# --- marketing answers with a material ------------------------------------------------------------------


def test_marketing_picks_a_material_from_the_library_and_the_part_gets_its_first_valid_response(opened, live_app):
    head = Chat(live_app, "mkt01")
    card = head.last_card()
    head.tap(card, button(card, "选素材"))
    choice = head.last_card()
    options = choice["button_selection"]["option_list"]
    assert options[0] == {"id": str(opened["fitting"]), "text": "CT球管竞品对比"}  # the deal's product line first
    assert choice["button_selection"]["selected_id"] == str(opened["fitting"])

    head.tap(choice, button(choice, "附上所选素材"), selected={"tkt_material": [str(opened["fitting"])]})

    part = _part(opened["marketing"])
    assert part.status is PartStatus.CLOSED and part.material_ids == [opened["fitting"]]
    assert part.first_response_at == part.first_valid_response_at == clock.now()
    done = head.last_card()
    assert done["main_title"]["title"].startswith("✅ ")
    assert done["quote_area"]["quote_text"] == "素材「CT球管竞品对比」"
    assert [b["text"] for b in done["button_list"]] == ["已完成"]
    assert head.last_text() == (
        "✅ 已附上素材「CT球管竞品对比」，「提供竞品对比材料」已完成（协和医院·CT球管更换，用时不到1分钟，在时限内）。"
    )

    # The named colleague's card still has buttons; a tap now says it is done and shows it so.
    colleague = Chat(live_app, "mkt02")
    theirs = colleague.last_card()
    colleague.tap(theirs, button(theirs, "发文件"))
    assert colleague.last_text().startswith("「提供竞品对比材料」已完成（郑市场已回复）")
    assert colleague.last_card()["button_list"][0]["text"] == "已完成"


def test_marketing_taps_send_file_then_sends_a_photo_and_that_is_the_material(opened, live_app):
    head = Chat(live_app, "mkt01")
    card = head.last_card()
    head.tap(card, button(card, "发文件"))
    assert "分钟内直接发送文件（PDF、PPT）或图片" in head.last_text()
    assert head.last_card()["button_list"][0]["text"] == "选素材"  # unchanged until the file is in

    media = STATE.add_media("image", "对比.png", "image/png", _png())
    head.post(callbacks.image_xml(head.settings, "mkt01", media.media_id))

    part = _part(opened["marketing"])
    assert part.status is PartStatus.CLOSED and len(part.attachment_ids) == 1
    with db.transaction() as s:
        kept = s.get(Attachment, part.attachment_ids[0])
        assert kept is not None and kept.content_type == "image/png"
    assert head.last_text().startswith("✅ 已附上文件「")
    assert head.last_card()["quote_area"]["quote_text"] == "文件 1 个"


def test_a_member_of_another_department_cannot_answer_from_a_card(opened, live_app):
    delivery_head = Chat(live_app, "dlv01")
    card = delivery_head.last_card()
    delivery_head.tap(card, f"tkt:mat:{opened['marketing']}")
    assert delivery_head.last_text() == "协同单不存在或不属于您的部门"
    assert _part(opened["marketing"]).status is PartStatus.OPEN


# --- delivery confirms a date and marks risks -----------------------------------------------------------


def test_delivery_confirms_a_schedule_date_typed_after_the_tap(opened, live_app):
    head = Chat(live_app, "dlv01")
    card = head.last_card()
    head.tap(card, button(card, "确认排期"))
    assert "直接回复排期日期" in head.last_text()

    head.say("过两天再说")
    assert head.last_text().startswith("没看懂这个日期")
    head.say("3月1日")
    assert head.last_text() == "排期日期「3月1日（周日）」已经过去，请回复今天或以后的日期。"
    assert _part(opened["delivery"]).status is PartStatus.OPEN

    head.say("下周二开始装机，风险：装机场地需提前改造供电")
    part = _part(opened["delivery"])
    tz = current_settings().business_tz
    assert part.status is PartStatus.CLOSED and part.first_valid_response_at == clock.now()
    assert part.schedule_date is not None and part.schedule_date.astimezone(tz).date().isoformat() == "2026-03-10"
    assert (part.response_text, part.risks) == ("开始装机", "装机场地需提前改造供电")
    assert head.last_text().startswith("✅ 已确认排期：3月10日（周二）")
    done = head.last_card()
    assert done["main_title"]["title"].startswith("✅ ") and [b["text"] for b in done["button_list"]] == ["已完成"]
    assert "排期 3月10日（周二）" in done["quote_area"]["quote_text"]


def test_delivery_marks_risks_then_confirms_the_date(opened, live_app):
    head = Chat(live_app, "dlv01")
    card = head.last_card()
    head.tap(card, button(card, "标注风险"))
    head.say("样机需从外地调拨")
    part = _part(opened["delivery"])
    assert (part.status, part.risks) == (PartStatus.ANSWERED, "样机需从外地调拨")
    assert part.first_response_at == clock.now() and part.first_valid_response_at is None
    assert head.last_text().startswith("✅ 已标注风险点：样机需从外地调拨。确认排期后")

    card = head.last_card()
    assert card["quote_area"]["quote_text"] == "风险：样机需从外地调拨"
    head.tap(card, button(card, "确认排期"))
    head.say("3月12日上午10点")
    part = _part(opened["delivery"])
    assert part.status is PartStatus.CLOSED and part.risks == "样机需从外地调拨"
    assert head.last_text().startswith("✅ 已确认排期：3月12日（周四）10:00，风险点：样机需从外地调拨，")


def test_risks_can_still_be_marked_after_the_schedule_closed_the_part(opened, live_app):
    head = Chat(live_app, "dlv01")
    card = head.last_card()
    head.tap(card, button(card, "确认排期"))
    head.say("3月12日")
    done = head.last_card()
    assert [b["text"] for b in done["button_list"]] == ["已完成", "标注风险"]
    head.tap(done, button(done, "标注风险"))
    head.say("院方设备科主任下周出差")
    part = _part(opened["delivery"])
    assert part.status is PartStatus.CLOSED and part.risks == "院方设备科主任下周出差"
    assert [b["text"] for b in head.last_card()["button_list"]] == ["已完成"]


def test_a_text_long_after_the_tap_is_not_taken_as_the_answer(opened, live_app, frozen_clock):
    head = Chat(live_app, "dlv01")
    card = head.last_card()
    head.tap(card, button(card, "确认排期"))
    frozen_clock.advance(timedelta(minutes=31))
    head.say("3月12日")
    assert _part(opened["delivery"]).status is PartStatus.OPEN
    assert head.last_text().startswith("没看懂这条消息")


# --- the reminder ---------------------------------------------------------------------------------------


def test_one_reminder_goes_out_four_hours_before_the_deadline_to_parts_still_waiting(opened, live_app, frozen_clock):
    assert any(job.job is collaboration_jobs.remind_due for job in PERIODIC)
    marketing_head, delivery_head = Chat(live_app, "mkt01"), Chat(live_app, "dlv01")
    card = marketing_head.last_card()
    marketing_head.tap(card, button(card, "选素材"))
    choice = marketing_head.last_card()
    marketing_head.tap(choice, button(choice, "附上所选素材"), selected={"tkt_material": [str(opened["fitting"])]})

    frozen_clock.advance(timedelta(hours=19, minutes=59))
    assert collaboration_jobs.remind_due() == 0
    frozen_clock.advance(timedelta(minutes=1))  # Tuesday 05:30, four hours before 09:30
    assert collaboration_jobs.remind_due() == 1  # delivery only: marketing has its valid answer
    live_app.drain()
    reminder = delivery_head.last_card()
    assert reminder["main_title"]["title"] == f"⏰ 即将超时 · 协同单 #{opened['ticket_id']} · 交付部"
    assert reminder["sub_title_text"].startswith("还剩 4小时，")
    assert _rows(reminder)["截止"] == DUE_TUESDAY
    assert [b["text"] for b in reminder["button_list"]] == ["确认排期", "标注风险"]
    assert not any(c["main_title"]["title"].startswith("⏰") for c in _cards(marketing_head))

    frozen_clock.advance(timedelta(hours=1))
    assert collaboration_jobs.remind_due() == 0  # once per part
    live_app.drain()
    assert sum(c["main_title"]["title"].startswith("⏰") for c in _cards(delivery_head)) == 1
    assert _part(opened["delivery"]).reminded_at == clock.now() - timedelta(hours=1)

    # The reminder's buttons answer like the first card's.
    delivery_head.tap(reminder, button(reminder, "确认排期"))
    delivery_head.say("明天")
    assert _part(opened["delivery"]).status is PartStatus.CLOSED


# --- enablement requests ------------------------------------------------------------------------------


def test_an_enablement_request_is_a_marketing_part_notified_answered_and_counted(opened, session, live_app):
    request = add_enablement_request(
        session, opened["org"].rep, ticket_id=opened["ticket_id"], kind="行业白皮书", note="院长关心DRG"
    )
    session.commit()
    live_app.drain()
    part_id = request.part.id

    head = Chat(live_app, "mkt01")
    card = head.last_card()
    assert card["main_title"] == {"title": "市场赋能请求 · 行业白皮书", "desc": "市场赋能请求：行业白皮书"}
    assert card["quote_area"]["quote_text"] == "院长关心DRG"
    assert _rows(card)["截止"] == "3月4日 09:30 前"  # its own SLA, 48 h
    assert len(_cards(Chat(live_app, "mkt02"))) == 2  # the named member hears of it too

    head.tap(card, button(card, "选素材"))
    choice = head.last_card()
    head.tap(choice, button(choice, "附上所选素材"), selected={"tkt_material": [str(opened["other_line"])]})
    with db.transaction() as s:
        part = s.get(TicketPart, part_id)
        assert part.status is PartStatus.CLOSED and part.first_valid_response_at == clock.now()
        assert s.get(EnablementRequest, request.id).fulfilled_at == clock.now()

    # The deal is won (arranged up to 合同审批 directly): the enablement part earns points and ranks.
    session.expire_all()
    won = _won(session, opened)
    with db.transaction() as s:
        points = {p.ticket_part_id: p.points for p in s.scalars(select(IncentivePoints))}
        assert points == {part_id: 10}  # the other two parts had no valid answer
        tz = current_settings().business_tz
        month = Window.month_of(clock.now().astimezone(tz).date(), tz)
        by_department = incentive_points_by_department(s, month, Scope.company(s))
        assert [(d.department_name, d.points) for d in by_department] == [("市场部", 10)]
        [row] = [r for r in month_collaborations(s, month) if r.ticket_part_id == part_id]
        assert row.opportunity_id == won and row.response_hours == 0.0 and row.speed == 1.0


def _won(session, opened) -> int:
    opp = session.get(Opportunity, opened["opp_id"])
    opp.stage = stage_by_code(session, "contract_approval")
    session.flush()
    advance_stage(session, opened["org"].rep, opportunity_id=opp.id, to_stage="won")
    session.commit()
    return opp.id
