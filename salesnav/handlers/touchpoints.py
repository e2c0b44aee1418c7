"""Log a customer touchpoint (客户触点日志)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from salesnav import clock
from salesnav.handlers.access import CUSTOMER_NOT_FOUND, customer_for, customers_for, touchpoint_for
from salesnav.handlers.attachments import attachment_for
from salesnav.handlers.errors import DomainError, Forbidden, NotFound
from salesnav.handlers.records import audit, record_event, record_events
from salesnav.models import (
    CaptureSource,
    Contact,
    Customer,
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
    spec = NewTouchpoint(
        customer_id,
        type,
        emotion,
        summary,
        contact_ids,
        next_action,
        next_action_due,
        occurred_at,
        opportunity_id,
        source,
        form_opened_at,
        attachment_ids,
        guessed_fields,
    )
    found = list(session.scalars(select(Contact).where(Contact.id.in_(set(contact_ids))))) if contact_ids else []
    touchpoint = _new_touchpoint(actor, customer, spec, found, now)
    opportunity = _opportunity_for_touchpoint(session, customer.id, opportunity_id)
    _check_attachments(session, actor, attachment_ids)
    touchpoint.opportunity_id = opportunity.id if opportunity else None
    session.add(touchpoint)
    session.flush()
    _follow_up(opportunity, touchpoint)
    record_event(session, "touchpoint.logged", "touchpoint", touchpoint.id, actor, **_event_payload(touchpoint))
    return touchpoint


@dataclass(frozen=True)
class NewTouchpoint:
    """One touchpoint to log, as `log_touchpoint`'s arguments (for `log_touchpoints`)."""

    customer_id: int
    type: TouchpointType | str
    emotion: Emotion | str = Emotion.NEUTRAL
    summary: str = ""
    contact_ids: list[int] | None = None
    next_action: str | None = None
    next_action_due: datetime | None = None
    occurred_at: datetime | None = None
    opportunity_id: int | None = None
    source: CaptureSource = CaptureSource.API
    form_opened_at: datetime | None = None
    attachment_ids: list[int] | None = None
    guessed_fields: list[str] | None = None


def log_touchpoints(session: Session, actor: User, specs: list[NewTouchpoint]) -> list[Touchpoint | DomainError]:
    """`log_touchpoint` for many at once, as if logged one after another (bulk paths such as the Excel import).

    The same checks; the customers, contacts and open deals are loaded in one query each, the touchpoints
    written in one flush, and the events recorded in bulk with one rule job for the batch. Each spec gets
    its touchpoint, or the DomainError that refused it (the others are written all the same).
    """
    now = clock.now()
    customers = customers_for(session, actor, [spec.customer_id for spec in specs])
    wanted = {cid for spec in specs for cid in spec.contact_ids or []}
    contacts = {c.id: c for c in session.scalars(select(Contact).where(Contact.id.in_(wanted)))} if wanted else {}
    auto = {spec.customer_id for spec in specs if spec.opportunity_id is None and spec.customer_id in customers}
    open_deals: dict[int, list[Opportunity]] = {}
    if auto:
        for opp in session.scalars(_open_deals(list(auto))):
            open_deals.setdefault(opp.customer_id, []).append(opp)
    out: list[Touchpoint | DomainError] = []
    linked: list[tuple[Opportunity | None, Touchpoint]] = []
    for spec in specs:
        try:
            customer = customers.get(spec.customer_id)
            if customer is None:
                raise NotFound(CUSTOMER_NOT_FOUND)
            found = [contacts[cid] for cid in set(spec.contact_ids or []) if cid in contacts]
            touchpoint = _new_touchpoint(actor, customer, spec, found, now)
            if spec.opportunity_id is not None:
                opportunity = _opportunity_for_touchpoint(session, customer.id, spec.opportunity_id)
            else:
                deals = open_deals.get(customer.id, [])
                opportunity = deals[0] if len(deals) == 1 else None  # the rule of _opportunity_for_touchpoint
            _check_attachments(session, actor, spec.attachment_ids)
        except DomainError as exc:
            out.append(exc)
            continue
        touchpoint.opportunity_id = opportunity.id if opportunity else None
        out.append(touchpoint)
        linked.append((opportunity, touchpoint))
    session.add_all([tp for _, tp in linked])
    session.flush()
    for opportunity, touchpoint in linked:
        _follow_up(opportunity, touchpoint)
    record_events(session, "touchpoint.logged", "touchpoint", [(tp.id, _event_payload(tp)) for _, tp in linked], actor)
    return out


def _new_touchpoint(
    actor: User, customer: Customer, spec: NewTouchpoint, found: list[Contact], now: datetime
) -> Touchpoint:
    """The checks and the record of one touchpoint (without its deal): shared by one-by-one and bulk logging."""
    tp_type = _enum(TouchpointType, spec.type, "触点类型", "微信、面访、电话或展会")
    tp_emotion = _enum(Emotion, spec.emotion, "情绪信号", "积极、中性或抵触")
    occurred = spec.occurred_at or now
    if occurred.tzinfo is None:
        raise DomainError("触点时间缺少时区")
    if occurred > now + CLOCK_SKEW:
        raise DomainError("触点时间不能晚于现在")
    summary = (spec.summary or "").strip()
    if len(summary) > MAX_SUMMARY:
        raise DomainError(f"纪要过长（最多 {MAX_SUMMARY} 字）")
    next_action = (spec.next_action or "").strip() or None
    if spec.next_action_due and not next_action:
        raise DomainError("填写了下一步时间，请同时写明下一步动作")
    if spec.next_action_due and spec.next_action_due.tzinfo is None:
        raise DomainError("下一步时间缺少时区")
    wanted = set(spec.contact_ids or [])
    if wanted and (len(found) != len(wanted) or any(c.customer_id != customer.id or c.deleted_at for c in found)):
        raise DomainError("参与人必须是该客户的联系人")
    touchpoint = Touchpoint(
        customer_id=customer.id,
        rep_id=actor.id,
        type=tp_type,
        emotion=tp_emotion,
        summary=summary,
        next_action=next_action,
        next_action_due=spec.next_action_due,
        occurred_at=occurred,
        source=spec.source,
        form_opened_at=spec.form_opened_at,
        submitted_at=now,
        attachments=list(spec.attachment_ids or []),
        guessed_fields=list(spec.guessed_fields or []),
    )
    touchpoint.contacts = list(found)
    return touchpoint


def _check_attachments(session: Session, actor: User, attachment_ids: list[int] | None) -> None:
    for attachment_id in dict.fromkeys(attachment_ids or []):
        attachment_for(session, actor, attachment_id)  # only files the rep may see (e.g. their voice note)


def _follow_up(opportunity: Opportunity | None, touchpoint: Touchpoint) -> None:
    """A touchpoint on an open deal is its latest follow-up, unless an even later one is already recorded."""
    if (
        opportunity
        and opportunity.status is OpportunityStatus.OPEN
        and touchpoint.occurred_at >= opportunity.last_follow_up_at
    ):
        opportunity.last_follow_up_at = touchpoint.occurred_at
        opportunity.last_touchpoint_id = touchpoint.id


def _event_payload(touchpoint: Touchpoint) -> dict[str, object]:
    return {
        "customer_id": touchpoint.customer_id,
        "opportunity_id": touchpoint.opportunity_id,
        "emotion": touchpoint.emotion.value,
        "type": touchpoint.type.value,
        "effective": touchpoint.is_effective,
    }


def _open_deals(customer_ids: list[int]):  # type: ignore[no-untyped-def]
    return select(Opportunity).where(
        Opportunity.customer_id.in_(customer_ids),
        Opportunity.status == OpportunityStatus.OPEN,
        Opportunity.deleted_at.is_(None),
    )


def _opportunity_for_touchpoint(session: Session, customer_id: int, opportunity_id: int | None) -> Opportunity | None:
    if opportunity_id is not None:
        opp = session.get(Opportunity, opportunity_id)
        if opp is None or opp.customer_id != customer_id or opp.deleted_at:
            raise DomainError("所选商机不属于该客户")
        return opp
    # A touchpoint with a customer that has exactly one open deal follows up that deal.
    open_opps = list(session.scalars(_open_deals([customer_id]).limit(2)))
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
        session,
        "touchpoint.updated",
        "touchpoint",
        touchpoint.id,
        actor,
        customer_id=touchpoint.customer_id,
        changed=sorted(k for k in after if after[k] != before[k]),
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
