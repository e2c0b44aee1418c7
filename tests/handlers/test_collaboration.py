"""Collaboration tickets (跨部门协同单): each department answers its own part within its SLA."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from salesnav.handlers.collaboration import add_enablement_request, answer_part, open_ticket
from salesnav.handlers.errors import DomainError, NotFound
from salesnav.handlers.opportunities import create_from_touchpoint
from salesnav.models import Attachment, DomainEvent, EnablementKind, PartStatus, TicketStatus
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
