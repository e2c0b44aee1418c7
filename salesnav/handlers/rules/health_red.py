"""Rule 3, customer health red light (客户健康红灯): 3 抵触 signals for one customer within 7 days.

→ the customer's health turns red, and a PDF of all its touchpoints goes to the sales manager
(the owner's manager) and the key account manager as a WeCom file (built and uploaded by a job
after commit: salesnav/jobs/rules.py). Runs when a touchpoint is logged. The time scan resolves
the alert, and restores the previous health, once fewer than 3 signals remain in the window.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from salesnav.handlers import rule_settings
from salesnav.handlers.records import audit
from salesnav.handlers.rules import engine, events
from salesnav.handlers.rules.engine import Match, Rule
from salesnav.handlers.rules.texts import local_time
from salesnav.jobs.queue import enqueue_after_commit
from salesnav.models import Alert, AlertState, Customer, DomainEvent, Emotion, Health, Touchpoint, User, setting_areas

# Jobs sit above the use cases: named by their path ("module:function"), never imported here.
HEALTH_PDF_JOB = "salesnav.jobs.rules:send_health_pdf"

CODE = "health_red"


def resistant_signals(session: Session, customer_id: int, now: datetime) -> list[datetime]:
    days = rule_settings.health(session).window_days
    return list(
        session.scalars(
            select(Touchpoint.occurred_at)
            .where(
                Touchpoint.customer_id == customer_id,  # ix_touchpoints_customer_occurred
                Touchpoint.occurred_at > now - timedelta(days=days),
                Touchpoint.occurred_at <= now,
                Touchpoint.emotion == Emotion.RESISTANT,
                Touchpoint.deleted_at.is_(None),
            )
            .order_by(Touchpoint.occurred_at)
        )
    )


def on_touchpoint(session: Session, event: DomainEvent) -> None:
    if event.payload.get("emotion") != Emotion.RESISTANT.value:
        return
    evaluate(session, int(event.payload["customer_id"]), event.occurred_at)


def evaluate(session: Session, customer_id: int, now: datetime) -> Alert | None:
    customer = session.get(Customer, customer_id)
    if customer is None or customer.deleted_at:
        return None
    health_settings = rule_settings.health(session)
    needed = health_settings.resistant_signals
    days = health_settings.window_days
    signals = resistant_signals(session, customer.id, now)
    if len(signals) < needed:
        return None
    # One episode per red spell: the count of spells already over names the next one.
    spells_over = session.scalar(
        select(func.count(Alert.id)).where(
            Alert.subject_type == "customer",
            Alert.subject_id == customer.id,
            Alert.rule == CODE,
            Alert.state == AlertState.RESOLVED,
        )
    )
    owner = session.get(User, customer.owner_id)
    manager = engine.manager_of(session, owner) if owner else None
    kam = session.get(User, customer.key_account_manager_id) if customer.key_account_manager_id else None
    recipients = engine.distinct_users(manager, kam)
    alert = engine.raise_alert(
        session,
        rule=CODE,
        subject_type="customer",
        subject_id=customer.id,
        episode=f"spell{(spells_over or 0) + 1}",
        title=f"{customer.name}近 {days} 天 {len(signals)} 次抵触，健康度转为红灯",
        now=now,
        detail={"previous_health": customer.health.value, "signals": [s.isoformat() for s in signals]},
        recipient_ids=[u.id for u in recipients],
    )
    if alert is None:
        return None
    if customer.health is not Health.RED:
        audit(
            session,
            None,
            "customer",
            customer.id,
            "health_change",
            {"health": customer.health.value},
            {"health": Health.RED.value, "rule": CODE},
        )
        customer.health = Health.RED
    total = session.scalar(
        select(func.count(Touchpoint.id)).where(Touchpoint.customer_id == customer.id, Touchpoint.deleted_at.is_(None))
    )
    when = "、".join(local_time(s)[5:] for s in signals)
    for user in recipients:
        engine.notify(
            session,
            alert,
            user,
            f"【客户健康红灯】客户「{customer.name}」（负责人：{owner.name if owner else '无'}）近 {days} 天出现 "
            f"{len(signals)} 次抵触信号（{when}），健康度已转为红灯。该客户全部 {total} 条触点记录的 PDF "
            f"随后发送，请尽快介入。",
        )
    enqueue_after_commit(session, HEALTH_PDF_JOB, alert.id, key=f"health_pdf:{alert.id}", queue="reports")
    return alert


def find(session: Session, now: datetime) -> list[Match]:
    """Red customers whose signals have aged out of the window: resolve (open alerts only)."""
    needed = rule_settings.health(session).resistant_signals
    alerts = session.execute(
        select(Alert.id, Alert.subject_id).where(Alert.state.in_(engine.OPEN_STATES), Alert.rule == CODE)
    ).all()
    return [
        Match(CODE, "resolve", alert_id)
        for alert_id, customer_id in alerts
        if len(resistant_signals(session, customer_id, now)) < needed
    ]


def apply(session: Session, match: Match, now: datetime) -> str | None:
    alert = session.get(Alert, match.subject_id)
    if alert is None or alert.state not in engine.OPEN_STATES:
        return None
    needed = rule_settings.health(session).resistant_signals
    if len(resistant_signals(session, alert.subject_id, now)) >= needed:
        return None
    days = rule_settings.health(session).window_days
    if not engine.resolve(session, alert, now=now, by_id=None, resolution=f"近 {days} 天抵触信号已少于 {needed} 次"):
        return None
    customer = session.get(Customer, alert.subject_id)
    if customer is not None and customer.health is Health.RED:
        previous = Health(alert.detail.get("previous_health", Health.GREEN.value))
        audit(
            session,
            None,
            "customer",
            customer.id,
            "health_change",
            {"health": Health.RED.value},
            {"health": previous.value, "rule": CODE},
        )
        customer.health = previous
    return "resolved"


RULE = Rule(
    code=CODE,
    name="客户健康红灯",
    trigger="事件：记录触点时检查；时间：信号过期后自动解除",
    area=setting_areas.Health,
    settings=("health.resistant_signals", "health.window_days"),
    find=find,
    apply=apply,
    reactions={events.TOUCHPOINT_LOGGED: on_touchpoint},
)
