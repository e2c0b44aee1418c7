"""Opportunities (商机推进卡): created from a touchpoint, advanced only with a complete checklist."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from salesnav.handlers.errors import ChecklistIncomplete, DomainError, Forbidden, NotFound, OpportunityClosed
from salesnav.handlers.opportunities import Evidence, advance_stage, create_from_touchpoint
from salesnav.handlers.stages import stage_by_code
from salesnav.models import (
    AuditEntry,
    CollaborationTicket,
    DomainEvent,
    IncentivePoints,
    OpportunityStatus,
    StageTransition,
)
from tests import factories as f

pytestmark = pytest.mark.smoke


def _deal(session, org, amount_fen=58_000_000):
    cust = f.customer(session, org.rep)
    tp = f.touchpoint(session, org.rep, cust, summary="初次拜访设备科")
    opp = create_from_touchpoint(
        session, org.rep, touchpoint_id=tp.id, title="CT球管更换", product_line="CT球管", expected_amount_fen=amount_fen
    )
    return cust, tp, opp


def _in_needs_confirmed(session, org):
    cust, tp, opp = _deal(session, org)
    advance_stage(
        session,
        org.rep,
        opportunity_id=opp.id,
        to_stage="needs_confirmed",
        evidence=_evidence_for(session, org.rep, "needs_confirmed"),
    )
    return cust, tp, opp


def _evidence_for(session, actor, *stage_codes):
    return f.evidence_for(session, actor, *stage_codes)


def test_opportunity_is_created_from_a_touchpoint_at_the_first_stage(session, frozen_clock):
    org = f.org(session)
    _, tp, opp = _deal(session, org)
    session.commit()
    assert opp.stage.name == "初步接触"
    assert opp.status is OpportunityStatus.OPEN
    assert opp.last_touchpoint_id == tp.id and tp.opportunity_id == opp.id
    assert opp.owner_id == org.rep.id and opp.expected_amount_fen == 58_000_000
    assert [(t.from_stage_id, t.to_stage.name) for t in opp.history] == [(None, "初步接触")]


def test_opportunity_needs_a_title_product_line_and_positive_amount(session, frozen_clock):
    org = f.org(session)
    cust = f.customer(session, org.rep)
    tp = f.touchpoint(session, org.rep, cust)
    with pytest.raises(DomainError, match="产品线"):
        create_from_touchpoint(
            session, org.rep, touchpoint_id=tp.id, title="x", product_line=" ", expected_amount_fen=1
        )
    with pytest.raises(DomainError, match="金额"):
        create_from_touchpoint(
            session, org.rep, touchpoint_id=tp.id, title="x", product_line="DR", expected_amount_fen=0
        )


def test_advance_is_refused_with_the_missing_checklist_items_listed(session, frozen_clock):
    org = f.org(session)
    _, _, opp = _in_needs_confirmed(session, org)
    with pytest.raises(ChecklistIncomplete) as refused:
        advance_stage(session, org.rep, opportunity_id=opp.id, to_stage="solution_demo")
    assert refused.value.missing == ["演示PPT", "客户问题清单", "内部资源协调记录"]
    assert "演示PPT、客户问题清单、内部资源协调记录" in refused.value.message


def test_partial_evidence_still_lists_only_what_is_missing(session, frozen_clock):
    org = f.org(session)
    _, _, opp = _in_needs_confirmed(session, org)
    stage = stage_by_code(session, "solution_demo")
    deck = f.attachment(session, org.rep, "演示PPT v3.pptx")
    first = stage.checklist[0]
    with pytest.raises(ChecklistIncomplete) as refused:
        advance_stage(
            session,
            org.rep,
            opportunity_id=opp.id,
            to_stage="方案演示",
            evidence={first.id: Evidence(attachment_id=deck.id)},
        )
    assert refused.value.missing == ["客户问题清单", "内部资源协调记录"]


def test_advance_with_complete_checklist_keeps_history_audit_and_event(session, frozen_clock):
    org = f.org(session)
    _, tp, opp = _deal(session, org)
    frozen_clock.advance(timedelta(days=2))
    transition = advance_stage(
        session,
        org.rep,
        opportunity_id=opp.id,
        to_stage="needs_confirmed",
        evidence=_evidence_for(session, org.rep, "needs_confirmed"),
    )
    session.commit()
    assert opp.stage.name == "需求确认" and opp.stage_entered_at == frozen_clock.now()
    assert transition.checklist_complete and transition.touchpoint_id == tp.id
    assert [t.to_stage.name for t in session.scalars(select(StageTransition).order_by(StageTransition.id))] == [
        "初步接触",
        "需求确认",
    ]
    entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "stage_change")).one()
    assert (entry.before["stage"], entry.after["stage"], entry.actor_id) == (
        "initial_contact",
        "needs_confirmed",
        org.rep.id,
    )
    event = session.scalars(select(DomainEvent).where(DomainEvent.kind == "opportunity.stage_advanced")).one()
    assert event.payload["to_stage"] == "needs_confirmed"


def test_advance_requires_a_touchpoint_and_the_latest_one(session, frozen_clock):
    org = f.org(session)
    cust, first_tp, opp = _deal(session, org)
    frozen_clock.advance(timedelta(hours=1))
    f.touchpoint(session, org.rep, cust, summary="电话跟进")
    with pytest.raises(DomainError, match="最新"):
        advance_stage(
            session,
            org.rep,
            opportunity_id=opp.id,
            to_stage="needs_confirmed",
            touchpoint_id=first_tp.id,
            evidence=_evidence_for(session, org.rep, "needs_confirmed"),
        )


def test_closed_opportunity_cannot_be_advanced(session, frozen_clock):
    org = f.org(session)
    _, _, opp = _deal(session, org)
    advance_stage(
        session, org.rep, opportunity_id=opp.id, to_stage="lost", evidence=_evidence_for(session, org.rep, "lost")
    )
    assert opp.status is OpportunityStatus.LOST and opp.closed_at == frozen_clock.now()
    with pytest.raises(OpportunityClosed, match="已关闭（输单）"):
        advance_stage(session, org.rep, opportunity_id=opp.id, to_stage="needs_confirmed")


def test_backwards_move_is_refused(session, frozen_clock):
    org = f.org(session)
    _, _, opp = _deal(session, org)
    advance_stage(
        session,
        org.rep,
        opportunity_id=opp.id,
        to_stage="needs_confirmed",
        evidence=_evidence_for(session, org.rep, "needs_confirmed"),
    )
    with pytest.raises(DomainError, match="退回"):
        advance_stage(session, org.rep, opportunity_id=opp.id, to_stage="initial_contact")


def test_a_manager_may_override_the_checklist_with_a_reason_a_rep_may_not(session, frozen_clock):
    org = f.org(session)
    _, _, opp = _deal(session, org)
    with pytest.raises(Forbidden):
        advance_stage(session, org.rep, opportunity_id=opp.id, to_stage="needs_confirmed", override_reason="急")
    t = advance_stage(
        session,
        org.manager,
        opportunity_id=opp.id,
        to_stage="needs_confirmed",
        override_reason="客户口头确认，材料后补",
    )
    assert not t.checklist_complete and t.override_reason == "客户口头确认，材料后补"


def test_other_team_cannot_see_or_advance_the_opportunity(session, frozen_clock):
    org = f.org(session)
    _, _, opp = _deal(session, org)
    for outsider in (org.outsider_rep, org.other_manager, org.other_rep):
        with pytest.raises(NotFound):
            advance_stage(session, outsider, opportunity_id=opp.id, to_stage="needs_confirmed")


def test_entering_sample_test_opens_a_collaboration_ticket_with_one_part_per_department(session, frozen_clock):
    org = f.org(session)
    _, _, opp = _deal(session, org)
    for code in ("needs_confirmed", "solution_demo", "sample_test"):
        advance_stage(
            session, org.rep, opportunity_id=opp.id, to_stage=code, evidence=_evidence_for(session, org.rep, code)
        )
    session.commit()
    ticket = session.scalars(select(CollaborationTicket)).one()
    parts = {p.department.name: p for p in ticket.parts}
    assert set(parts) == {"市场部", "交付部"}
    assert all(p.due_at == frozen_clock.now() + timedelta(hours=24) for p in parts.values())
    assert "竞品对比材料" in parts["市场部"].request


def test_winning_awards_incentive_points_to_departments_that_answered(session, frozen_clock):
    from salesnav.handlers.collaboration import answer_part
    from salesnav.models import Attachment

    org = f.org(session)
    _, _, opp = _deal(session, org)
    for code in ("needs_confirmed", "solution_demo", "sample_test"):
        advance_stage(
            session, org.rep, opportunity_id=opp.id, to_stage=code, evidence=_evidence_for(session, org.rep, code)
        )
    ticket = session.scalars(select(CollaborationTicket)).one()
    marketing_part = next(p for p in ticket.parts if p.department_id == org.marketing.id)
    deck = Attachment(
        sha256="0" * 64,
        filename="竞品对比.pdf",
        content_type="application/pdf",
        size_bytes=10,
        storage_path="x",
        uploaded_by_id=org.marketer.id,
    )
    session.add(deck)
    session.flush()
    answer_part(session, org.marketer, part_id=marketing_part.id, text="见附件", attachment_ids=[deck.id])
    for code in ("negotiation", "contract_approval", "won"):
        advance_stage(
            session, org.rep, opportunity_id=opp.id, to_stage=code, evidence=_evidence_for(session, org.rep, code)
        )
    points = session.scalars(select(IncentivePoints)).all()
    assert [(p.department_id, p.points) for p in points] == [(org.marketing.id, 10)]
    assert opp.status is OpportunityStatus.WON
