"""Cross-department collaboration tickets (跨部门协同单): open, answer a department's part, ask for enablement.

Every part that opens (the deal entered 样品测试, a manager forwarded a help request, a rep asked for
enablement) is announced to its department at once (handlers/ticket_notices.py), and every answer —
from the mini-program API or from the chat card — goes through `answer_part`.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy import case, select
from sqlalchemy.orm import Session

from salesnav import clock
from salesnav.handlers import customer_events as ce
from salesnav.handlers import rule_settings, ticket_notices
from salesnav.handlers.attachments import usable_attachment
from salesnav.handlers.errors import DomainError, NotFound
from salesnav.handlers.journeys import progress as journey_progress
from salesnav.handlers.records import record_event
from salesnav.handlers.rules import events
from salesnav.handlers.scope import opportunity_for
from salesnav.handlers.working_time import rule_time
from salesnav.models import (
    CollaborationTicket,
    Department,
    DepartmentKind,
    EnablementKind,
    EnablementRequest,
    Material,
    Opportunity,
    OpportunityStatus,
    PartStatus,
    Role,
    TicketPart,
    TicketStatus,
    User,
)
from salesnav.models.setting_areas import Collaboration as CollaborationSettings

# What each department must supply when an opportunity enters 样品测试.
# Each answering department's part: its SLA in hours (a collaboration setting) and what it is asked for.
PART_REQUESTS: dict[DepartmentKind, tuple[Callable[[CollaborationSettings], int], str]] = {
    DepartmentKind.MARKETING: (lambda settings: settings.marketing_sla_hours, "提供竞品对比材料"),
    DepartmentKind.DELIVERY: (lambda settings: settings.delivery_sla_hours, "确认排期并标注风险点"),
}


def tickets_of(session: Session, opportunity_id: int) -> list[CollaborationTicket]:
    return list(
        session.scalars(select(CollaborationTicket).where(CollaborationTicket.opportunity_id == opportunity_id))
    )


def open_ticket(session: Session, actor: User, opp: Opportunity, *, reason: str) -> CollaborationTicket:
    """Open a ticket with one part per responsible department; an open ticket for the same reason is reused."""
    for ticket in tickets_of(session, opp.id):
        if ticket.status is TicketStatus.OPEN and ticket.reason == reason:
            return ticket
    now = clock.now()
    ticket = CollaborationTicket(opportunity_id=opp.id, opened_by_id=actor.id, reason=reason, opened_at=now)
    session.add(ticket)
    settings = rule_settings.collaboration(session)
    for kind, (sla_of, request) in PART_REQUESTS.items():
        department = department_of_kind(session, kind)
        if department is None:
            continue  # a company without that department simply has no part for it
        sla = sla_of(settings)
        due = rule_time(session).after(now, sla)
        ticket.parts.append(TicketPart(department_id=department.id, request=request, sla_hours=sla, due_at=due))
    session.flush()
    record_event(
        session,
        "collaboration.ticket_opened",
        "ticket",
        ticket.id,
        actor,
        opportunity_id=opp.id,
        part_ids=[p.id for p in ticket.parts],
    )
    ce.record_ticket_opened(session, ticket, opp)
    for part in ticket.parts:
        ticket_notices.notify_opened(session, part)
    return ticket


def department_of_kind(session: Session, kind: DepartmentKind) -> Department | None:
    """The department answering for `kind` (the first live one, should there be several)."""
    return session.scalars(
        select(Department).where(Department.kind == kind, Department.deleted_at.is_(None)).order_by(Department.id)
    ).first()


def part_to_answer(session: Session, actor: User, part_id: int) -> TicketPart:
    """The part `actor` may answer (see `may_answer`), else NotFound: we never confirm it exists."""
    part = session.get(TicketPart, part_id)
    if part is None or not may_answer(actor, part):
        raise NotFound("协同单不存在或不属于您的部门")
    return part


def answer_part(
    session: Session,
    actor: User,
    *,
    part_id: int,
    text: str = "",
    attachment_ids: list[int] | None = None,
    material_ids: list[int] | None = None,
    schedule_date: datetime | None = None,
    risks: str | None = None,
    valid_until: datetime | None = None,
) -> TicketPart:
    """A department answers its part. The first *valid* answer (marketing: a file or a material from the
    library attached; delivery: schedule confirmed) closes the part; an answer without it counts as a
    first response only. Delivery may still mark risk points on a part its schedule already closed."""
    part = part_to_answer(session, actor, part_id)
    text = (text or "").strip()
    risks = (risks or "").strip() or None
    attachment_ids = list(dict.fromkeys(attachment_ids or []))
    material_ids = list(dict.fromkeys(material_ids or []))
    if part.status is PartStatus.CLOSED:
        if risks and not (text or attachment_ids or material_ids or schedule_date):
            return _mark_risks(session, actor, part, risks)
        raise DomainError("该协同任务已完成")
    if not (text or attachment_ids or material_ids or schedule_date or risks):
        raise DomainError("请填写回复内容、上传材料、选择素材或确认排期")
    for attachment_id in attachment_ids:
        usable_attachment(session, actor, attachment_id)  # their own upload or the material library's
    for material_id in material_ids:
        material = session.get(Material, material_id)
        if material is None or material.deleted_at is not None or material.retired_at is not None:
            raise DomainError("所选素材不存在或已下架，请重新选择")

    now = clock.now()
    kind = part.department.kind
    valid = (
        bool(attachment_ids or material_ids)
        if kind is DepartmentKind.MARKETING
        else (schedule_date is not None if kind is DepartmentKind.DELIVERY else True)
    )
    part.first_response_at = part.first_response_at or now
    part.response_text = text or part.response_text
    part.attachment_ids = [*part.attachment_ids, *attachment_ids]
    part.material_ids = [*part.material_ids, *material_ids]
    part.schedule_date = schedule_date or part.schedule_date
    part.risks = risks or part.risks
    part.valid_until = valid_until or part.valid_until
    part.responder_id = actor.id
    part.status = PartStatus.ANSWERED
    if valid:
        part.first_valid_response_at = part.first_valid_response_at or now
        part.status = PartStatus.CLOSED
        part.closed_at = now
        if part.enablement_request is not None:
            part.enablement_request.fulfilled_at = part.enablement_request.fulfilled_at or now
    session.flush()
    if valid:
        journey_progress.ticket_part_closed(session, part)  # a journey step's part: that step is done
    record_event(
        session,
        ANSWERED,
        "ticket_part",
        part.id,
        actor,
        ticket_id=part.ticket_id,
        valid=valid,
        within_sla=now <= part.due_at,
    )
    ticket = part.ticket
    if all(p.status is PartStatus.CLOSED for p in ticket.parts):
        ticket.status, ticket.closed_at = TicketStatus.CLOSED, now
        record_event(session, "collaboration.ticket_closed", "ticket", ticket.id, actor)
    return part


ANSWERED = events.PART_ANSWERED
RISKS_MARKED = "collaboration.part_risks_marked"


def _mark_risks(session: Session, actor: User, part: TicketPart, risks: str) -> TicketPart:
    part.risks = risks
    session.flush()
    record_event(session, RISKS_MARKED, "ticket_part", part.id, actor, ticket_id=part.ticket_id)
    return part


def material_choices(session: Session, part: TicketPart, limit: int = 10) -> list[Material]:
    """Live materials to answer `part` with, the best fit for its deal first: the deal's product line,
    then general ones (no line), then the rest; within each, made for 样品测试 or for any stage first,
    then the newest."""
    opp = part.ticket.opportunity
    line_rank = case((Material.product_line == opp.product_line, 0), (Material.product_line.is_(None), 1), else_=2)
    stage_rank = case((Material.stage_code == opp.stage.code, 0), (Material.stage_code.is_(None), 1), else_=2)
    return list(
        session.scalars(
            select(Material)
            .where(
                Material.deleted_at.is_(None),
                Material.retired_at.is_(None),
                Material.published_at <= clock.now(),
            )
            .order_by(line_rank, stage_rank, Material.published_at.desc(), Material.id.desc())
            .limit(limit)
        )
    )


def add_enablement_request(
    session: Session, actor: User, *, ticket_id: int, kind: EnablementKind | str, note: str = ""
) -> EnablementRequest:
    """A rep asks marketing for a white paper, an expert live session or a custom case: a marketing part of
    its own on the ticket, with its own SLA (setting collaboration.enablement_sla_hours), announced to
    marketing at once and answered with a material like any marketing part."""
    ticket = session.get(CollaborationTicket, ticket_id)
    if ticket is None:
        raise NotFound("协同单不存在")
    opp = opportunity_for(session, actor, ticket.opportunity_id)  # scope check
    member = kind if isinstance(kind, EnablementKind) else EnablementKind.from_label(str(kind))
    if member is None:
        raise DomainError("赋能类型无效，请选择行业白皮书、专家直播或定制化案例")
    if opp.status is not OpportunityStatus.OPEN:
        raise DomainError(f"商机已关闭（{opp.status.label}），不能再提出市场赋能请求")
    marketing = department_of_kind(session, DepartmentKind.MARKETING)
    if marketing is None:
        raise DomainError("系统里还没有市场部，请联系管理员")
    request = EnablementRequest(
        ticket_id=ticket.id, kind=member, note=(note or "").strip() or None, requested_by_id=actor.id
    )
    session.add(request)
    session.flush()
    now = clock.now()
    sla = rule_settings.collaboration(session).enablement_sla_hours
    part = TicketPart(
        department_id=marketing.id,
        request=f"市场赋能请求：{member.label}",
        sla_hours=sla,
        due_at=rule_time(session).after(now, sla),
        enablement_request_id=request.id,
    )
    ticket.parts.append(part)
    if ticket.status is TicketStatus.CLOSED:  # its other parts were done; this one is not
        ticket.status, ticket.closed_at = TicketStatus.OPEN, None
        record_event(session, "collaboration.ticket_reopened", "ticket", ticket.id, actor)
    session.flush()
    record_event(
        session,
        "collaboration.enablement_requested",
        "ticket",
        ticket.id,
        actor,
        request_kind=member.value,
        part_id=part.id,
    )
    ticket_notices.notify_opened(session, part)
    return request


def may_answer(actor: User, part: TicketPart) -> bool:
    """The department's members and its head answer its parts (an admin may answer any)."""
    department = part.department
    return actor.role is Role.ADMIN or actor.department_id == part.department_id or department.head_id == actor.id


SUPPORT_REASON = "主管转派支援"


def request_support(
    session: Session, actor: User, *, opportunity_id: int, department: DepartmentKind, request: str
) -> TicketPart:
    """A manager passes a rep's 需要支援 on to marketing or delivery: a part on the deal's open ticket
    (when that ticket has no part for the department yet), else on a new support ticket of its own."""
    if actor.role not in (Role.MANAGER, Role.DIRECTOR, Role.ADMIN):
        raise DomainError("只有销售主管、总监可以转派支援")
    if department not in PART_REQUESTS:
        raise DomainError("只能转给市场部或交付部")
    opp = opportunity_for(session, actor, opportunity_id)
    request = (request or "").strip()
    if not request:
        raise DomainError("请说明需要什么支援")
    dept = department_of_kind(session, department)
    if dept is None:
        raise DomainError(f"系统里还没有{department.label}，请联系管理员")
    ticket = next(
        (
            t
            for t in sorted(tickets_of(session, opp.id), key=lambda t: t.id, reverse=True)
            if t.status is TicketStatus.OPEN
            and all(p.department_id != dept.id or p.enablement_request_id is not None for p in t.parts)
        ),
        None,
    )
    now = clock.now()
    if ticket is None:
        ticket = CollaborationTicket(opportunity_id=opp.id, opened_by_id=actor.id, reason=SUPPORT_REASON, opened_at=now)
        session.add(ticket)
        session.flush()
        record_event(session, "collaboration.ticket_opened", "ticket", ticket.id, actor, opportunity_id=opp.id)
        ce.record_ticket_opened(session, ticket, opp)
    sla = PART_REQUESTS[department][0](rule_settings.collaboration(session))
    due = rule_time(session).after(now, sla)
    part = TicketPart(department_id=dept.id, request=request[:2000], sla_hours=sla, due_at=due)
    ticket.parts.append(part)
    session.flush()
    record_event(
        session,
        "collaboration.support_requested",
        "ticket_part",
        part.id,
        actor,
        ticket_id=ticket.id,
        opportunity_id=opp.id,
        department=department.value,
    )
    ticket_notices.notify_opened(session, part)
    return part
