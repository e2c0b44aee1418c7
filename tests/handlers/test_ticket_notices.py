"""Who hears of a collaboration ticket part and when: the head and the named members on opening, one reminder
before the deadline (never in the first half of a short SLA, counted as the SLA is), and the admin's list."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from salesnav import clock
from salesnav.handlers import rule_settings, ticket_notices
from salesnav.handlers.admin.org import set_ticket_notice_members
from salesnav.handlers.collaboration import open_ticket
from salesnav.handlers.errors import DomainError, Forbidden
from salesnav.handlers.opportunities import create_from_touchpoint
from salesnav.models import AuditEntry, CollaborationTicket, OutboundMessage, Role
from tests import factories as f


@pytest.fixture
def org(session):
    return f.org(session)


def _open(session, org: f.Org) -> CollaborationTicket:
    cust = f.customer(session, org.rep)
    tp = f.touchpoint(session, org.rep, cust)
    opp = create_from_touchpoint(
        session, org.rep, touchpoint_id=tp.id, title="DR设备", product_line="DR设备", expected_amount_fen=30_000_000
    )
    return open_ticket(session, org.rep, opp, reason="商机进入样品测试")


def _part_of(ticket: CollaborationTicket, org: f.Org, department) -> int:
    return next(p.id for p in ticket.parts if p.department_id == department.id)


def test_recipients_are_the_active_head_and_the_named_members_still_in_the_department(session, org):
    named = f.user(session, "mkt02", Role.STAFF, org.marketing, name="冯市场")
    left = f.user(session, "mkt03", Role.STAFF, org.marketing, name="褚市场")
    moved = f.user(session, "mkt04", Role.STAFF, org.marketing, name="卫市场")
    set_ticket_notice_members(session, org.admin, org.marketing.id, [named.id, left.id, moved.id])
    left.active = False
    moved.department_id = org.delivery.id
    assert [u.wecom_userid for u in ticket_notices.recipients(session, org.marketing)] == ["mkt01", "mkt02"]
    org.marketer.active = False
    assert [u.wecom_userid for u in ticket_notices.recipients(session, org.marketing)] == ["mkt02"]


def test_the_admin_names_only_active_members_of_the_department_and_the_change_is_audited(session, org):
    colleague = f.user(session, "mkt02", Role.STAFF, org.marketing, name="冯市场")
    with pytest.raises(Forbidden):
        set_ticket_notice_members(session, org.director, org.marketing.id, [colleague.id])
    with pytest.raises(DomainError, match="李销售不是市场部的成员"):
        set_ticket_notice_members(session, org.admin, org.marketing.id, [org.rep.id])
    set_ticket_notice_members(session, org.admin, org.marketing.id, [colleague.id, colleague.id])
    assert org.marketing.ticket_notice_user_ids == [colleague.id]
    [entry] = session.scalars(select(AuditEntry).where(AuditEntry.action == "ticket_notices")).all()
    assert (entry.before, entry.after) == ({"ticket_notice_user_ids": []}, {"ticket_notice_user_ids": [colleague.id]})


def test_the_reminder_comes_four_hours_before_the_deadline_once(session, org, frozen_clock):
    ticket = _open(session, org)
    frozen_clock.advance(timedelta(hours=19, minutes=59))
    assert ticket_notices.parts_to_remind(session, clock.now()) == []
    frozen_clock.advance(timedelta(minutes=1))
    due = ticket_notices.parts_to_remind(session, clock.now())
    assert sorted(due) == sorted(p.id for p in ticket.parts)
    assert ticket_notices.remind(session, due[0], clock.now()) is True
    assert ticket_notices.remind(session, due[0], clock.now()) is False  # once per part
    reminders = session.scalars(
        select(OutboundMessage).where(OutboundMessage.idempotency_key.like(f"ticket_part:{due[0]}:reminder:%"))
    ).all()
    assert len(reminders) == 1
    frozen_clock.advance(timedelta(hours=4))  # the deadline passed: the overdue rule speaks, not the reminder
    assert ticket_notices.parts_to_remind(session, clock.now()) == []


def test_a_short_sla_is_reminded_halfway_not_right_after_opening(session, org, frozen_clock):
    rule_settings.update(session, org.admin, "collaboration.marketing_sla_hours", 6)
    ticket = _open(session, org)
    marketing = _part_of(ticket, org, org.marketing)
    frozen_clock.advance(timedelta(hours=2, minutes=59))
    assert ticket_notices.parts_to_remind(session, clock.now()) == []
    frozen_clock.advance(timedelta(minutes=1))
    assert ticket_notices.parts_to_remind(session, clock.now()) == [marketing]


def test_no_reminder_when_the_admin_sets_zero_hours(session, org, frozen_clock):
    rule_settings.update(session, org.admin, "collaboration.reminder_hours_before", 0)
    _open(session, org)
    frozen_clock.advance(timedelta(hours=23))
    assert ticket_notices.parts_to_remind(session, clock.now()) == []


def test_on_working_days_only_the_reminder_counts_working_hours(session, org, frozen_clock):
    rule_settings.update(session, org.admin, "rules.working_days_only", True)
    frozen_clock.set(datetime(2026, 3, 5, 18, 0, tzinfo=UTC))  # Friday 02:00 in Shanghai
    ticket = _open(session, org)
    assert {p.due_at for p in ticket.parts} == {datetime(2026, 3, 8, 18, 0, tzinfo=UTC)}  # Monday 02:00
    frozen_clock.set(datetime(2026, 3, 6, 13, 59, tzinfo=UTC))  # Friday 21:59
    assert ticket_notices.parts_to_remind(session, clock.now()) == []
    frozen_clock.set(datetime(2026, 3, 6, 14, 0, tzinfo=UTC))  # Friday 22:00: 4 working hours before Monday 02:00
    assert len(ticket_notices.parts_to_remind(session, clock.now())) == 2
