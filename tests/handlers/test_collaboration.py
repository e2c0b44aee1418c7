"""Collaboration tickets (跨部门协同单): each department answers its own part within its SLA."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from salesnav import clock
from salesnav.handlers.collaboration import add_enablement_request, answer_part, open_ticket
from salesnav.handlers.errors import DomainError, NotFound
from salesnav.handlers.opportunities import create_from_touchpoint
from salesnav.models import (
    Attachment,
    DomainEvent,
    EnablementKind,
    Material,
    OpportunityStatus,
    OutboundMessage,
    OutboundStatus,
    PartStatus,
    Role,
    TicketStatus,
)
from tests import factories as f

pytestmark = pytest.mark.smoke


@pytest.fixture
def ticket(session, frozen_clock):
    org = f.org(session)
    cust = f.customer(session, org.rep)
    tp = f.touchpoint(session, org.rep, cust)
    opp = create_from_touchpoint(
        session, org.rep, touchpoint_id=tp.id, title="DR设备", product_line="DR设备", expected_amount_fen=30_000_000
    )
    t = open_ticket(session, org.rep, opp, reason="商机进入样品测试")
    parts = {p.department_id: p for p in t.parts}
    return org, t, parts[org.marketing.id], parts[org.delivery.id]


def _attachment(session, uploader):
    a = Attachment(
        sha256="a" * 64,
        filename="对比.pdf",
        content_type="application/pdf",
        size_bytes=1,
        storage_path="x",
        uploaded_by_id=uploader.id,
    )
    session.add(a)
    session.flush()
    return a


def test_marketing_answer_without_material_is_a_first_response_but_not_valid(session, frozen_clock, ticket):
    org, _, marketing, _ = ticket
    frozen_clock.advance(timedelta(hours=3))
    answer_part(session, org.marketer, part_id=marketing.id, text="收到，今天整理")
    assert marketing.first_response_at == frozen_clock.now()
    assert marketing.first_valid_response_at is None and marketing.status is PartStatus.ANSWERED


def test_material_closes_marketing_part_and_schedule_closes_delivery_part_then_ticket(session, frozen_clock, ticket):
    org, t, marketing, delivery = ticket
    answer_part(session, org.marketer, part_id=marketing.id, attachment_ids=[_attachment(session, org.marketer).id])
    assert marketing.status is PartStatus.CLOSED and t.status is TicketStatus.OPEN
    frozen_clock.advance(timedelta(hours=30))
    answer_part(
        session,
        org.deliverer,
        part_id=delivery.id,
        text="排期确认",
        risks="样机需从外地调拨",
        schedule_date=frozen_clock.now() + timedelta(days=7),
    )
    assert delivery.status is PartStatus.CLOSED and t.status is TicketStatus.CLOSED
    answered = session.scalars(select(DomainEvent).where(DomainEvent.kind == "collaboration.part_answered")).all()
    assert [e.payload["within_sla"] for e in answered] == [True, False]


def test_a_department_cannot_answer_another_departments_part(session, frozen_clock, ticket):
    org, _, marketing, _ = ticket
    with pytest.raises(NotFound):
        answer_part(session, org.deliverer, part_id=marketing.id, text="不是我们的")


def test_empty_answer_is_refused(session, frozen_clock, ticket):
    org, _, marketing, _ = ticket
    with pytest.raises(DomainError, match="回复内容"):
        answer_part(session, org.marketer, part_id=marketing.id, text="  ")


def test_rep_adds_an_enablement_request(session, frozen_clock, ticket):
    org, t, _, _ = ticket
    request = add_enablement_request(session, org.rep, ticket_id=t.id, kind="专家直播", note="院长想听专家讲")
    assert request.kind is EnablementKind.EXPERT_LIVE
    with pytest.raises(DomainError, match="赋能类型"):
        add_enablement_request(session, org.rep, ticket_id=t.id, kind="请吃饭")


def test_opening_twice_for_the_same_reason_reuses_the_open_ticket(session, frozen_clock, ticket):
    org, t, _, _ = ticket
    assert open_ticket(session, org.rep, t.opportunity, reason="商机进入样品测试") is t


def _material(session, *, retired: bool = False):
    m = Material(
        title="CT竞品对比",
        product_line="DR设备",
        tags=[],
        published_at=clock.now() - timedelta(days=1),
        retired_at=clock.now() if retired else None,
    )
    session.add(m)
    session.flush()
    return m


def test_a_material_from_the_library_is_a_valid_marketing_answer(session, frozen_clock, ticket):
    org, _, marketing, _ = ticket
    material = _material(session)
    answer_part(session, org.marketer, part_id=marketing.id, material_ids=[material.id])
    assert marketing.status is PartStatus.CLOSED and marketing.material_ids == [material.id]
    assert marketing.first_valid_response_at == frozen_clock.now()


def test_a_retired_material_is_refused(session, frozen_clock, ticket):
    org, _, marketing, _ = ticket
    with pytest.raises(DomainError, match="已下架"):
        answer_part(session, org.marketer, part_id=marketing.id, material_ids=[_material(session, retired=True).id])


def test_risk_points_alone_are_a_first_response_and_can_be_added_after_the_schedule(session, frozen_clock, ticket):
    org, _, _, delivery = ticket
    answer_part(session, org.deliverer, part_id=delivery.id, risks="样机需调拨")
    assert delivery.status is PartStatus.ANSWERED and delivery.first_valid_response_at is None
    answer_part(session, org.deliverer, part_id=delivery.id, schedule_date=frozen_clock.now() + timedelta(days=5))
    assert delivery.status is PartStatus.CLOSED and delivery.risks == "样机需调拨"
    answer_part(session, org.deliverer, part_id=delivery.id, risks="场地供电需改造")
    assert delivery.risks == "场地供电需改造" and delivery.status is PartStatus.CLOSED
    with pytest.raises(DomainError, match="已完成"):
        answer_part(session, org.deliverer, part_id=delivery.id, schedule_date=frozen_clock.now())


def test_the_department_head_may_answer_even_from_another_department(session, frozen_clock, ticket):
    org, _, marketing, _ = ticket
    org.marketing.head_id = org.director.id  # a head who sits elsewhere in the org chart
    session.flush()
    answer_part(session, org.director, part_id=marketing.id, text="我来安排")
    assert marketing.responder_id == org.director.id


def test_an_enablement_request_becomes_a_marketing_part_with_its_own_sla(session, frozen_clock, ticket):
    org, t, marketing, _ = ticket
    frozen_clock.advance(timedelta(hours=5))
    request = add_enablement_request(session, org.rep, ticket_id=t.id, kind="定制化案例", note="类似三甲的案例")
    part = request.part
    assert part is not None and part.ticket_id == t.id and part.department_id == org.marketing.id
    assert part is not marketing and part.request == "市场赋能请求：定制化案例"
    assert part.sla_hours == 48 and part.due_at == frozen_clock.now() + timedelta(hours=48)
    assert part.created_at == frozen_clock.now()  # its clock starts now, not at the ticket's opening
    answer_part(session, org.marketer, part_id=part.id, material_ids=[_material(session).id])
    assert part.status is PartStatus.CLOSED and request.fulfilled_at == frozen_clock.now()


def test_an_enablement_request_reopens_a_closed_ticket_and_is_refused_on_a_closed_deal(session, frozen_clock, ticket):
    org, t, marketing, delivery = ticket
    answer_part(session, org.marketer, part_id=marketing.id, material_ids=[_material(session).id])
    answer_part(session, org.deliverer, part_id=delivery.id, schedule_date=frozen_clock.now())
    assert t.status is TicketStatus.CLOSED
    add_enablement_request(session, org.rep, ticket_id=t.id, kind="行业白皮书")
    assert t.status is TicketStatus.OPEN and t.closed_at is None
    t.opportunity.status = OpportunityStatus.LOST
    with pytest.raises(DomainError, match="商机已关闭"):
        add_enablement_request(session, org.rep, ticket_id=t.id, kind="专家直播")


def test_parts_opening_are_announced_to_the_head_and_the_named_members_through_the_outbox(session, frozen_clock):
    org = f.org(session)
    colleague = f.user(session, "mkt02", Role.STAFF, org.marketing, name="冯市场")
    org.marketing.ticket_notice_user_ids = [colleague.id]
    cust = f.customer(session, org.rep)
    tp = f.touchpoint(session, org.rep, cust)
    opp = create_from_touchpoint(
        session, org.rep, touchpoint_id=tp.id, title="DR设备", product_line="DR设备", expected_amount_fen=30_000_000
    )
    open_ticket(session, org.rep, opp, reason="商机进入样品测试")
    cards = session.scalars(select(OutboundMessage).where(OutboundMessage.msg_type == "template_card")).all()
    assert sorted(m.recipient_userid for m in cards) == ["dlv01", "mkt01", "mkt02"]
    assert all(m.status is OutboundStatus.QUEUED for m in cards)  # sent by the outbox after commit
