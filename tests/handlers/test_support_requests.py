"""需要支援 passed on by a manager: a part for marketing or delivery on the deal's collaboration ticket."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from salesnav import clock
from salesnav.handlers.collaboration import SUPPORT_REASON, add_enablement_request, open_ticket, request_support
from salesnav.handlers.errors import DomainError, NotFound
from salesnav.models import DepartmentKind, DomainEvent, OutboundMessage, PartStatus
from tests import factories as f
from tests.rules.arrange import deal


@pytest.fixture
def arranged(session, frozen_clock):
    org = f.org(session)
    _, opp = deal(session, org)
    return org, opp


def test_a_deal_without_a_ticket_gets_a_support_ticket_with_one_part_on_the_departments_sla(session, arranged):
    org, opp = arranged
    part = request_support(
        session,
        org.manager,
        opportunity_id=opp.id,
        department=DepartmentKind.MARKETING,
        request="李销售请求支援：需要竞品对比",
    )
    assert part.ticket.reason == SUPPORT_REASON and part.ticket.opportunity_id == opp.id
    assert [p.department.name for p in part.ticket.parts] == ["市场部"]
    assert (part.status, part.sla_hours, part.due_at) == (PartStatus.OPEN, 24, clock.now() + timedelta(hours=24))
    [event] = session.scalars(select(DomainEvent).where(DomainEvent.kind == "collaboration.support_requested"))
    assert event.payload == {"ticket_id": part.ticket_id, "opportunity_id": opp.id, "department": "marketing"}


def test_a_second_department_joins_the_open_ticket_and_a_department_already_on_it_gets_a_new_one(session, arranged):
    org, opp = arranged
    first = request_support(
        session, org.manager, opportunity_id=opp.id, department=DepartmentKind.MARKETING, request="竞品对比"
    )
    second = request_support(
        session, org.manager, opportunity_id=opp.id, department=DepartmentKind.DELIVERY, request="确认排期"
    )
    assert second.ticket_id == first.ticket_id
    third = request_support(
        session, org.manager, opportunity_id=opp.id, department=DepartmentKind.MARKETING, request="专家直播"
    )
    assert third.ticket_id != first.ticket_id


def test_the_sample_test_ticket_is_reused_only_for_a_department_it_lacks(session, arranged):
    org, opp = arranged
    ticket = open_ticket(session, org.rep, opp, reason="进入样品测试")  # has marketing and delivery parts
    part = request_support(
        session, org.manager, opportunity_id=opp.id, department=DepartmentKind.DELIVERY, request="加急排期"
    )
    assert part.ticket_id != ticket.id


def test_only_managers_in_scope_may_pass_help_on_and_only_to_marketing_or_delivery(session, arranged):
    org, opp = arranged
    with pytest.raises(DomainError, match="只有销售主管、总监可以转派支援"):
        request_support(session, org.rep, opportunity_id=opp.id, department=DepartmentKind.MARKETING, request="x")
    with pytest.raises(NotFound):
        request_support(
            session, org.other_manager, opportunity_id=opp.id, department=DepartmentKind.MARKETING, request="x"
        )
    with pytest.raises(DomainError, match="只能转给市场部或交付部"):
        request_support(session, org.manager, opportunity_id=opp.id, department=DepartmentKind.FINANCE, request="x")
    with pytest.raises(DomainError, match="请说明需要什么支援"):
        request_support(session, org.manager, opportunity_id=opp.id, department=DepartmentKind.MARKETING, request=" ")


def test_a_forwarded_part_is_announced_to_the_department_with_its_card(session, arranged):
    org, opp = arranged
    part = request_support(
        session, org.manager, opportunity_id=opp.id, department=DepartmentKind.DELIVERY, request="需要确认装机排期"
    )
    [card] = session.scalars(select(OutboundMessage).where(OutboundMessage.msg_type == "template_card")).all()
    assert card.recipient_userid == "dlv01" and card.idempotency_key == f"ticket_part:{part.id}:card:dlv01"
    assert card.body["main_title"]["desc"] == "需要确认装机排期"


def test_an_enablement_part_does_not_count_as_marketing_already_being_on_the_ticket(session, arranged):
    org, opp = arranged
    ticket = request_support(
        session, org.manager, opportunity_id=opp.id, department=DepartmentKind.DELIVERY, request="排期"
    ).ticket
    add_enablement_request(session, org.rep, ticket_id=ticket.id, kind="专家直播")
    part = request_support(
        session, org.manager, opportunity_id=opp.id, department=DepartmentKind.MARKETING, request="竞品对比"
    )
    assert part.ticket_id == ticket.id
    assert sorted(p.request for p in ticket.parts) == sorted(["排期", "市场赋能请求：专家直播", "竞品对比"])
