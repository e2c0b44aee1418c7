"""The 批注 loop around `add_annotation`: which alert a manager's message annotates, what the rep is
told about it, and the rep's answer (收到 / 需要支援) — which a manager may pass on to marketing or delivery.

Which alert a chat message annotates (the window is the setting annotation.window_minutes):
1. the alert whose 批注 button the manager tapped within the window (a DomainEvent
   "annotation.target_picked" records the tap, so any worker sees it), unless already annotated since;
2. for a message starting with 批注: the most recent open alert sent to the manager;
3. for any other message: the most recent open alert that reached the manager within the window and
   that they have not annotated yet (a reply to the alert).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from salesnav import clock
from salesnav.handlers import rule_settings
from salesnav.handlers.annotations import ANNOTATOR_ROLES
from salesnav.handlers.collaboration import request_support
from salesnav.handlers.errors import DomainError, NotFound
from salesnav.handlers.records import record_event
from salesnav.models import (
    Alert,
    AlertState,
    Annotation,
    Customer,
    DepartmentKind,
    DomainEvent,
    Opportunity,
    OutboundMessage,
    TicketPart,
    Touchpoint,
    User,
)

OPEN_STATES = (AlertState.OPEN, AlertState.ESCALATED)
PICKED = "annotation.target_picked"
RECENT_ALERT_MESSAGES = 50  # how far back in a manager's alert messages to look for an open one


@dataclass(frozen=True)
class AlertContext:
    """What the rep needs to read a manager's note: customer, opportunity, what was wrong."""

    problem: str
    customer_id: int | None = None
    customer_name: str | None = None
    opportunity_id: int | None = None
    opportunity_title: str | None = None
    stage_name: str | None = None
    rep_id: int | None = None
    rep_name: str | None = None


def alert_context(session: Session, alert: Alert) -> AlertContext:
    opp: Opportunity | None = None
    customer: Customer | None = None
    rep: User | None = None
    if alert.subject_type == "opportunity":
        opp = session.get(Opportunity, alert.subject_id)
    elif alert.subject_type == "customer":
        customer = session.get(Customer, alert.subject_id)
    elif alert.subject_type in ("ticket_part", "part"):
        part = session.get(TicketPart, alert.subject_id)
        opp = part.ticket.opportunity if part is not None else None
    if opp is not None:
        customer, rep = opp.customer, opp.owner
    elif customer is not None:
        rep = customer.owner
    return AlertContext(
        problem=alert.title,
        customer_id=customer.id if customer else None,
        customer_name=customer.name if customer else None,
        opportunity_id=opp.id if opp else None,
        opportunity_title=opp.title if opp else None,
        stage_name=opp.stage.name if opp else None,
        rep_id=rep.id if rep else None,
        rep_name=rep.name if rep else None,
    )


def annotation_context(session: Session, annotation: Annotation) -> AlertContext:
    if annotation.alert_id is not None and (alert := session.get(Alert, annotation.alert_id)) is not None:
        return alert_context(session, alert)
    opp = session.get(Opportunity, annotation.opportunity_id) if annotation.opportunity_id else None
    touchpoint = session.get(Touchpoint, annotation.touchpoint_id) if annotation.touchpoint_id else None
    customer = opp.customer if opp else (touchpoint.customer if touchpoint else None)
    recipient = session.get(User, annotation.recipient_id) if annotation.recipient_id else None
    return AlertContext(
        problem=f"商机「{opp.title}」" if opp else "触点记录",
        customer_id=customer.id if customer else None,
        customer_name=customer.name if customer else None,
        opportunity_id=opp.id if opp else None,
        opportunity_title=opp.title if opp else None,
        stage_name=opp.stage.name if opp else None,
        rep_id=recipient.id if recipient else None,
        rep_name=recipient.name if recipient else None,
    )


def window(session: Session) -> timedelta:
    return timedelta(minutes=rule_settings.annotation(session).window_minutes)


def is_annotator(user: User | None) -> bool:
    return user is not None and user.role in ANNOTATOR_ROLES


def pick_alert(session: Session, manager: User, alert_id: int) -> Alert:
    """The manager tapped 批注 on this alert: their next voice or text within the window annotates it."""
    alert = _alert_sent_to(session, manager, alert_id)
    record_event(session, PICKED, "alert", alert.id, manager)
    return alert


def target_alert(session: Session, manager: User, *, explicit: bool) -> Alert | None:
    """The alert a chat message from `manager` annotates now, or None (the message is not an annotation).

    `explicit`: the message starts with 批注, so the latest open alert is the target even outside the window.
    """
    if not is_annotator(manager):
        return None
    now = clock.now()
    since = now - window(session)
    pick = session.scalars(
        select(DomainEvent)
        .where(DomainEvent.kind == PICKED, DomainEvent.actor_id == manager.id, DomainEvent.occurred_at >= since)
        .order_by(DomainEvent.occurred_at.desc(), DomainEvent.id.desc())
    ).first()
    if pick is not None and not _annotated_since(session, manager, pick.subject_id, pick.occurred_at):
        alert = session.get(Alert, pick.subject_id)
        if alert is not None and alert.state in OPEN_STATES:
            return alert
    for alert, arrived_at in _alerts_sent_to(session, manager):
        if explicit:
            return alert
        if arrived_at >= since and not _annotated_since(session, manager, alert.id, None):
            return alert
    return None


def _annotated_since(session: Session, manager: User, alert_id: int, since: datetime | None) -> bool:
    query = select(Annotation.id).where(Annotation.author_id == manager.id, Annotation.alert_id == alert_id)
    if since is not None:
        query = query.where(Annotation.created_at >= since)
    return session.scalars(query.limit(1)).first() is not None


def _alert_id_of(key: str | None) -> int | None:
    # Alert messages are keyed "alert:<id>:<tag>:<userid>" (rules/engine.notify, annotate cards).
    parts = (key or "").split(":")
    return int(parts[1]) if len(parts) >= 3 and parts[0] == "alert" and parts[1].isdigit() else None


def _alerts_sent_to(session: Session, manager: User) -> list[tuple[Alert, datetime]]:
    """Open alerts that reached the manager, newest first, with when each reached them."""
    rows = session.execute(
        select(OutboundMessage.idempotency_key, OutboundMessage.created_at)
        .where(
            OutboundMessage.recipient_userid == manager.wecom_userid,
            OutboundMessage.idempotency_key.like("alert:%"),
        )
        .order_by(OutboundMessage.id.desc())
        .limit(RECENT_ALERT_MESSAGES)
    ).all()
    seen: dict[int, datetime] = {}
    for key, created_at in rows:
        alert_id = _alert_id_of(key)
        if alert_id is not None and alert_id not in seen:
            seen[alert_id] = created_at
    out = []
    for alert_id, arrived_at in seen.items():
        alert = session.get(Alert, alert_id)
        if alert is not None and alert.state in OPEN_STATES:
            out.append((alert, arrived_at))
    return out


def _alert_sent_to(session: Session, manager: User, alert_id: int) -> Alert:
    alert = session.get(Alert, alert_id)
    if alert is None or not is_annotator(manager) or manager.id not in (alert.recipient_ids or []):
        raise NotFound("预警不存在或不是发给您的")
    if alert.state not in OPEN_STATES:
        raise DomainError("该预警已解除，无需再批注")
    return alert


# --- the rep's answer -------------------------------------------------------------------------------


def _own_annotation(session: Session, rep: User, annotation_id: int) -> Annotation:
    annotation = session.get(Annotation, annotation_id)
    if annotation is None or annotation.recipient_id != rep.id:
        raise NotFound("批注不存在或不是发给您的")
    return annotation


def acknowledge(session: Session, rep: User, annotation_id: int) -> Annotation:
    """收到: the rep has read the note. A second tap changes nothing."""
    annotation = _own_annotation(session, rep, annotation_id)
    if annotation.acknowledged_at is None:
        annotation.acknowledged_at = clock.now()
        record_event(
            session, "annotation.acknowledged", "annotation", annotation.id, rep, author_id=annotation.author_id
        )
    return annotation


def request_help(session: Session, rep: User, annotation_id: int) -> Annotation:
    """需要支援: the rep asks the annotating manager for help on this deal."""
    annotation = _own_annotation(session, rep, annotation_id)
    if annotation.help_requested_at is None:
        annotation.help_requested_at = clock.now()
        record_event(
            session, "annotation.help_requested", "annotation", annotation.id, rep, author_id=annotation.author_id
        )
    return annotation


def forward_help(session: Session, manager: User, annotation_id: int, department: DepartmentKind) -> TicketPart:
    """The manager passes the rep's help request to marketing or delivery as a collaboration ticket part."""
    annotation = session.get(Annotation, annotation_id)
    if annotation is None or annotation.author_id != manager.id:
        raise NotFound("批注不存在或不是您写的")
    if annotation.help_requested_at is None:
        raise DomainError("销售还没有请求支援")
    context = annotation_context(session, annotation)
    if context.opportunity_id is None:
        raise DomainError("该批注没有关联商机，无法转为协同单")
    note = (annotation.text or annotation.transcript or "").strip()
    request = f"{context.rep_name or '销售'}请求支援（{context.problem}）" + (
        f"：主管批注「{note[:200]}」" if note else ""
    )
    part = request_support(
        session, manager, opportunity_id=context.opportunity_id, department=department, request=request
    )
    record_event(
        session,
        "annotation.help_forwarded",
        "annotation",
        annotation.id,
        manager,
        ticket_part_id=part.id,
        department=department.value,
    )
    return part
