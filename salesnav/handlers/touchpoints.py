"""Log a customer touchpoint (客户触点日志)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from salesnav import clock
from salesnav.handlers.access import customer_for, touchpoint_for
from salesnav.handlers.attachments import attachment_for
from salesnav.handlers.errors import DomainError, Forbidden
from salesnav.handlers.records import audit, record_event
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
    for attachment_id in dict.fromkeys(attachment_ids or []):
        attachment_for(session, actor, attachment_id)  # only files the rep may see (e.g. their voice note)

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


_UNSET: object = object()


def update_touchpoint(
    session: Session,
    actor: User,
    *,
    touchpoint_id: int,
    type: TouchpointType | str | None = None,
    emotion: Emotion | str | None = None,
    summary: str | None = None,
    contact_ids: list[int] | None = None,
    next_action: str | object | None = _UNSET,
    next_action_due: datetime | object | None = _UNSET,
    attachment_ids: list[int] | None = None,
) -> Touchpoint:
    """Correct a touchpoint: only the rep who logged it may, and the change is audited.

    Arguments left out stay as they are; `next_action=None` clears the next action.
    """
    touchpoint = touchpoint_for(session, actor, touchpoint_id)
    if touchpoint.rep_id != actor.id:
        raise Forbidden("只能修改自己记录的触点")
    before = _touchpoint_snapshot(touchpoint)
    if type is not None:
        touchpoint.type = _enum(TouchpointType, type, "触点类型", "微信、面访、电话或展会")
    if emotion is not None:
        touchpoint.emotion = _enum(Emotion, emotion, "情绪信号", "积极、中性或抵触")
    if summary is not None:
        summary = summary.strip()
        if len(summary) > MAX_SUMMARY:
            raise DomainError(f"纪要过长（最多 {MAX_SUMMARY} 字）")
        touchpoint.summary = summary
    if next_action is not _UNSET:
        touchpoint.next_action = (str(next_action or "")).strip() or None
        if touchpoint.next_action is None:
            touchpoint.next_action_due = None
    if next_action_due is not _UNSET:
        due = next_action_due if isinstance(next_action_due, datetime) else None
        if due is not None and due.tzinfo is None:
            raise DomainError("下一步时间缺少时区")
        touchpoint.next_action_due = due
    if touchpoint.next_action_due and not touchpoint.next_action:
        raise DomainError("填写了下一步时间，请同时写明下一步动作")
    if contact_ids is not None:
        contacts = list(session.scalars(select(Contact).where(Contact.id.in_(set(contact_ids)))))
        if len(contacts) != len(set(contact_ids)) or any(
            c.customer_id != touchpoint.customer_id or c.deleted_at for c in contacts
        ):
            raise DomainError("参与人必须是该客户的联系人")
        touchpoint.contacts = contacts
    if attachment_ids is not None:
        for attachment_id in dict.fromkeys(attachment_ids):
            attachment_for(session, actor, attachment_id)
        touchpoint.attachments = list(dict.fromkeys(attachment_ids))
    after = _touchpoint_snapshot(touchpoint)
    if after == before:
        return touchpoint
    session.flush()
    audit(session, actor, "touchpoint", touchpoint.id, "update", before, after)
    record_event(
        session, "touchpoint.updated", "touchpoint", touchpoint.id, actor,
        customer_id=touchpoint.customer_id, changed=sorted(k for k in after if after[k] != before[k]),
        effective=touchpoint.is_effective,
    )
    return touchpoint


def _touchpoint_snapshot(touchpoint: Touchpoint) -> dict[str, object]:
    due = touchpoint.next_action_due
    return {
        "type": touchpoint.type.value,
        "emotion": touchpoint.emotion.value,
        "summary": touchpoint.summary,
        "next_action": touchpoint.next_action,
        "next_action_due": due.isoformat() if due else None,
        "contact_ids": sorted(c.id for c in touchpoint.contacts),
        "attachments": list(touchpoint.attachments),
    }
