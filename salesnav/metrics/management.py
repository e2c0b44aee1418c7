"""Management metrics: do managers act on alerts, and do reps ask for customer health diagnoses."""

from __future__ import annotations

from sqlalchemy import ColumnElement, case, func, select
from sqlalchemy.orm import Session

from salesnav.metrics.results import Count, Ratio
from salesnav.metrics.scope import Scope, Window
from salesnav.models import (
    Alert,
    CollaborationTicket,
    Customer,
    DomainEvent,
    Opportunity,
    Role,
    Task,
    TicketPart,
    Touchpoint,
    User,
)

MANAGER_ROLES = (Role.MANAGER, Role.DIRECTOR)
HEALTH_DIAGNOSIS_REQUESTED = "health.diagnosis_requested"


def alert_owner() -> ColumnElement[int]:
    """The rep an alert is about, found through its subject; NULL for a subject kind not listed here."""
    ticket_owner = (
        select(Opportunity.owner_id)
        .join(CollaborationTicket, CollaborationTicket.opportunity_id == Opportunity.id)
        .correlate(Alert)
    )
    return case(
        (
            Alert.subject_type == "opportunity",
            select(Opportunity.owner_id).where(Opportunity.id == Alert.subject_id).scalar_subquery(),
        ),
        (
            Alert.subject_type == "customer",
            select(Customer.owner_id).where(Customer.id == Alert.subject_id).scalar_subquery(),
        ),
        (
            Alert.subject_type.in_(("ticket", "collaboration_ticket")),
            ticket_owner.where(CollaborationTicket.id == Alert.subject_id).scalar_subquery(),
        ),
        (
            Alert.subject_type.in_(("ticket_part", "part")),
            ticket_owner.join(TicketPart, TicketPart.ticket_id == CollaborationTicket.id)
            .where(TicketPart.id == Alert.subject_id)
            .scalar_subquery(),
        ),
        (Alert.subject_type == "task", select(Task.assignee_id).where(Task.id == Alert.subject_id).scalar_subquery()),
        (
            Alert.subject_type == "touchpoint",
            select(Touchpoint.rep_id).where(Touchpoint.id == Alert.subject_id).scalar_subquery(),
        ),
    )


def owner_of_alert(session: Session, alert_id: int) -> int | None:
    """`alert_owner` for one alert: the id of the rep it is about (who a manager's note on it must reach)."""
    return session.scalar(select(alert_owner()).where(Alert.id == alert_id))


def manager_intervention_rate(session: Session, window: Window, scope: Scope) -> Ratio:
    """主管干预率: alerts raised in the window with a manager (销售主管 or 销售总监) among their recipients that a
    manager annotated or acted on (manager_intervened_at set) ÷ those alerts. Alerts count for the rep their
    subject belongs to (an opportunity's or customer's owner, a ticket's opportunity owner, a task's assignee)."""
    alerts = session.execute(
        select(Alert.recipient_ids, Alert.manager_intervened_at.is_not(None)).where(
            window.contains(Alert.raised_at), scope.covers(alert_owner())
        )
    ).all()
    if not alerts:
        return Ratio.of(0, 0)
    managers = set(session.scalars(select(User.id).where(User.role.in_(MANAGER_ROLES))))
    # Recipients are a JSON list, which the two databases query differently; the window's alerts are few.
    to_managers = [intervened for recipients, intervened in alerts if managers.intersection(recipients or [])]
    return Ratio.of(sum(1 for intervened in to_managers if intervened), len(to_managers))


def health_diagnosis_use(session: Session, window: Window, scope: Scope) -> Count:
    """客户健康度诊断使用次数: diagnoses requested in the window (domain events "health.diagnosis_requested") by
    reps in scope, and the same per week. Article: from 0 to 17 a week."""
    count = session.scalar(
        select(func.count())
        .select_from(DomainEvent)
        .where(
            DomainEvent.kind == HEALTH_DIAGNOSIS_REQUESTED,
            window.contains(DomainEvent.occurred_at),
            scope.covers(DomainEvent.actor_id),
        )
    )
    return Count.of(count, window.days)
