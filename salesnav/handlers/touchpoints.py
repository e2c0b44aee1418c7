"""Log a customer touchpoint (客户触点日志)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from salesnav import clock
from salesnav.handlers.access import customer_for
from salesnav.handlers.errors import DomainError
from salesnav.handlers.records import record_event
from salesnav.models import (
    CaptureSource,
    Contact,
    Emotion,
    Opportunity,
    OpportunityStatus,
    Touchpoint,
    TouchpointType,
    User,
)

MAX_SUMMARY = 5000
CLOCK_SKEW = timedelta(minutes=5)


def log_touchpoint(
    session: Session,
    actor: User,
    *,
    customer_id: int,
    type: TouchpointType | str,
    emotion: Emotion | str = Emotion.NEUTRAL,
    summary: str = "",
    contact_ids: list[int] | None = None,
    next_action: str | None = None,
    next_action_due: datetime | None = None,
    occurred_at: datetime | None = None,
    opportunity_id: int | None = None,
    source: CaptureSource = CaptureSource.API,
    form_opened_at: datetime | None = None,
    attachment_ids: list[int] | None = None,
    guessed_fields: list[str] | None = None,
) -> Touchpoint:
    now = clock.now()
    customer = customer_for(session, actor, customer_id)
    tp_type = _enum(TouchpointType, type, "触点类型", "微信、面访、电话或展会")
    tp_emotion = _enum(Emotion, emotion, "情绪信号", "积极、中性或抵触")
    occurred = occurred_at or now
    if occurred.tzinfo is None:
        raise DomainError("触点时间缺少时区")
    if occurred > now + CLOCK_SKEW:
        raise DomainError("触点时间不能晚于现在")
    summary = (summary or "").strip()
    if len(summary) > MAX_SUMMARY:
        raise DomainError(f"纪要过长（最多 {MAX_SUMMARY} 字）")
    next_action = (next_action or "").strip() or None
    if next_action_due and not next_action:
        raise DomainError("填写了下一步时间，请同时写明下一步动作")
    if next_action_due and next_action_due.tzinfo is None:
        raise DomainError("下一步时间缺少时区")

    contacts: list[Contact] = []
    if contact_ids:
        contacts = list(session.scalars(select(Contact).where(Contact.id.in_(set(contact_ids)))))
        if len(contacts) != len(set(contact_ids)) or any(
            c.customer_id != customer.id or c.deleted_at for c in contacts
        ):
            raise DomainError("参与人必须是该客户的联系人")

    opportunity = _opportunity_for_touchpoint(session, customer.id, opportunity_id)

    touchpoint = Touchpoint(
        customer_id=customer.id,
        rep_id=actor.id,
        opportunity_id=opportunity.id if opportunity else None,
        type=tp_type,
        emotion=tp_emotion,
        summary=summary,
        next_action=next_action,
        next_action_due=next_action_due,
        occurred_at=occurred,
        source=source,
        form_opened_at=form_opened_at,
        submitted_at=now,
        attachments=list(attachment_ids or []),
        guessed_fields=list(guessed_fields or []),
    )
    touchpoint.contacts = contacts
    session.add(touchpoint)
    session.flush()
    if opportunity and opportunity.status is OpportunityStatus.OPEN and occurred >= opportunity.last_follow_up_at:
        opportunity.last_follow_up_at = occurred
        opportunity.last_touchpoint_id = touchpoint.id
    record_event(
        session,
        "touchpoint.logged",
        "touchpoint",
        touchpoint.id,
        actor,
        customer_id=customer.id,
        opportunity_id=touchpoint.opportunity_id,
        emotion=tp_emotion.value,
        type=tp_type.value,
        effective=touchpoint.is_effective,
    )
    return touchpoint


def _opportunity_for_touchpoint(session: Session, customer_id: int, opportunity_id: int | None) -> Opportunity | None:
    if opportunity_id is not None:
        opp = session.get(Opportunity, opportunity_id)
        if opp is None or opp.customer_id != customer_id or opp.deleted_at:
            raise DomainError("所选商机不属于该客户")
        return opp
    # A touchpoint with a customer that has exactly one open deal follows up that deal.
    open_opps = list(
        session.scalars(
            select(Opportunity)
            .where(
                Opportunity.customer_id == customer_id,
                Opportunity.status == OpportunityStatus.OPEN,
                Opportunity.deleted_at.is_(None),
            )
            .limit(2)
        )
    )
    return open_opps[0] if len(open_opps) == 1 else None


def _enum(enum_cls, value, field: str, allowed: str):  # type: ignore[no-untyped-def]
    if isinstance(value, enum_cls):
        return value
    member = enum_cls.from_label(str(value))
    if member is None:
        raise DomainError(f"{field}「{value}」无效，请选择{allowed}")
    return member
