"""Hand-built metric data: rows written straight into the models at chosen times (no handler side effects)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy.orm import Session

from salesnav.handlers.stages import stage_by_code
from salesnav.models import (
    Alert,
    CollaborationTicket,
    Contact,
    Customer,
    Department,
    Emotion,
    Opportunity,
    OpportunityStatus,
    StageOutcome,
    StageTransition,
    TicketPart,
    Touchpoint,
    TouchpointType,
    User,
)


def utc(month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> datetime:
    """A moment in 2026, UTC."""
    return datetime(2026, month, day, hour, minute, second, tzinfo=UTC)


def touchpoint(
    session: Session,
    rep: User,
    customer: Customer,
    at: datetime,
    *,
    emotion: Emotion = Emotion.NEUTRAL,
    contacts: Sequence[Contact] = (),
    next_action: str | None = None,
    next_action_due: datetime | None = None,
    form_opened_at: datetime | None = None,
    submitted_at: datetime | None = None,
    deleted: bool = False,
) -> Touchpoint:
    tp = Touchpoint(
        customer_id=customer.id,
        rep_id=rep.id,
        type=TouchpointType.VISIT,
        emotion=emotion,
        next_action=next_action,
        next_action_due=next_action_due,
        occurred_at=at,
        form_opened_at=form_opened_at,
        submitted_at=submitted_at,
        deleted_at=at if deleted else None,
    )
    tp.contacts = list(contacts)
    session.add(tp)
    session.flush()
    return tp


def effective(session: Session, rep: User, customer: Customer, at: datetime, **kwargs: object) -> Touchpoint:
    """A touchpoint with a next action, its due time and the customer's first contact present."""
    return touchpoint(
        session,
        rep,
        customer,
        at,
        contacts=customer.contacts[:1],
        next_action="发送报价",
        next_action_due=at.replace(hour=10),
        **kwargs,  # type: ignore[arg-type]
    )


def deal(
    session: Session,
    owner: User,
    customer: Customer,
    path: Sequence[tuple[str, datetime]],
    *,
    product_line: str = "CT设备",
    via: Touchpoint | None = None,
) -> Opportunity:
    """An opportunity whose history is `path`: the creation row into path[0], then one transition per step.

    A path ending in 赢单/输单 closes the deal at that moment.
    """
    tp = via or touchpoint(session, owner, customer, path[0][1])
    stages = [stage_by_code(session, code) for code, _ in path]
    last, last_at = stages[-1], path[-1][1]
    closed = last.outcome is not StageOutcome.OPEN
    opp = Opportunity(
        customer_id=customer.id,
        owner_id=owner.id,
        title=f"{customer.name}{product_line}",
        product_line=product_line,
        expected_amount_fen=10_000_000,
        stage_id=last.id,
        status=OpportunityStatus(last.outcome.value) if closed else OpportunityStatus.OPEN,
        last_touchpoint_id=tp.id,
        last_follow_up_at=tp.occurred_at,
        stage_entered_at=last_at,
        closed_at=last_at if closed else None,
    )
    session.add(opp)
    session.flush()
    previous = None
    for stage, (_, at) in zip(stages, path, strict=True):
        session.add(
            StageTransition(
                opportunity_id=opp.id,
                from_stage_id=previous,
                to_stage_id=stage.id,
                actor_id=owner.id,
                touchpoint_id=tp.id,
                occurred_at=at,
            )
        )
        previous = stage.id
    session.flush()
    return opp


def ticket(
    session: Session,
    opp: Opportunity,
    opened_at: datetime,
    parts: Sequence[tuple[Department, dict[str, object]]],
) -> CollaborationTicket:
    """A ticket opened at `opened_at` with one part per (department, column values)."""
    t = CollaborationTicket(
        opportunity_id=opp.id, opened_by_id=opp.owner_id, reason="商机进入样品测试", opened_at=opened_at
    )
    session.add(t)
    session.flush()
    for department, values in parts:
        values = {"sla_hours": 24, "due_at": opened_at, "created_at": opened_at, **values}  # opened with the ticket
        session.add(TicketPart(ticket_id=t.id, department_id=department.id, request="提供竞品对比材料", **values))
    session.flush()
    return t


def alert(
    session: Session,
    subject: Opportunity | Customer,
    raised_at: datetime,
    recipients: Sequence[User],
    *,
    intervened_at: datetime | None = None,
) -> Alert:
    kind = "opportunity" if isinstance(subject, Opportunity) else "customer"
    a = Alert(
        rule="follow_up_overdue",
        idempotency_key=f"{kind}:{subject.id}:{raised_at.isoformat()}:{len(recipients)}",
        subject_type=kind,
        subject_id=subject.id,
        title="超过72小时未跟进",
        recipient_ids=[u.id for u in recipients],
        raised_at=raised_at,
        manager_intervened_at=intervened_at,
    )
    session.add(a)
    session.flush()
    return a
