"""Rule 2, collaboration overdue (协同超时): a department's part of a ticket passes its SLA without
a valid answer (marketing: material attached; delivery: schedule confirmed).

→ that department's average handling time for similar parts over the last 30 days (similar:
the same department, for tickets opened for the same reason, e.g. 商机进入样品测试, and an
enablement request's part only like other enablement parts; handling time: part opened → first
valid response), and a 效能预警简报 to the department head by e-mail (HTML + text, sent by a job
after commit) and by WeCom. A valid answer resolves the alert.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from html import escape

from sqlalchemy import select
from sqlalchemy.orm import Session

from salesnav.handlers import rule_settings
from salesnav.handlers.rules import engine, events
from salesnav.handlers.rules.engine import Match, Rule
from salesnav.handlers.rules.texts import hours_text, how_long, local_time
from salesnav.jobs.queue import enqueue_after_commit
from salesnav.models import Alert, CollaborationTicket, DomainEvent, PartStatus, TicketPart, setting_areas

# Jobs sit above the use cases: named by their path ("module:function"), never imported here.
EFFICIENCY_BRIEF_JOB = "salesnav.jobs.rules:send_efficiency_brief"

CODE = "collaboration_overdue"
UNANSWERED = (PartStatus.OPEN, PartStatus.ANSWERED)  # answered without a valid response still counts
BATCH = 1000


@dataclass(frozen=True)
class Average:
    hours: float | None
    parts: int
    days: int

    def text(self) -> str:
        if self.hours is None:
            return f"近 {self.days} 天无同类已完成协同单"
        return f"近 {self.days} 天同类协同单平均处理时长 {hours_text(self.hours)}（共 {self.parts} 单）"


def opened_at(part: TicketPart) -> datetime:
    return part.created_at  # its SLA clock starts when the part is opened


def average_handling(session: Session, part: TicketPart, now: datetime) -> Average:
    days = rule_settings.collaboration_overdue(session).average_window_days
    rows = session.scalars(
        select(TicketPart)
        .join(CollaborationTicket, CollaborationTicket.id == TicketPart.ticket_id)
        .where(
            TicketPart.department_id == part.department_id,
            TicketPart.id != part.id,
            CollaborationTicket.reason == part.ticket.reason,
            # an enablement request (白皮书 / 专家直播 / 定制案例) is only like other enablement requests
            TicketPart.enablement_request_id.is_(None)
            if part.enablement_request_id is None
            else TicketPart.enablement_request_id.is_not(None),
            TicketPart.first_valid_response_at.is_not(None),
            TicketPart.first_valid_response_at > now - timedelta(days=days),
            TicketPart.first_valid_response_at <= now,
        )
    ).all()
    if not rows:
        return Average(None, 0, days)
    total = sum(((p.first_valid_response_at - opened_at(p)).total_seconds() for p in rows), 0.0)  # type: ignore[operator]  # the rows are answered parts: first_valid_response_at is set
    return Average(total / len(rows) / 3600, len(rows), days)


def find(session: Session, now: datetime) -> list[Match]:
    # ix_ticket_parts_status_due: only parts still waiting whose SLA has passed.
    rows = session.execute(
        select(TicketPart.id, TicketPart.due_at)
        .where(TicketPart.status.in_(UNANSWERED), TicketPart.due_at < now)
        .order_by(TicketPart.due_at)
        .limit(BATCH)
    ).all()
    keyed = {engine.alert_key(CODE, "ticket_part", pid, engine.episode_of(due)): pid for pid, due in rows}
    fired = set(session.scalars(select(Alert.idempotency_key).where(Alert.idempotency_key.in_(list(keyed)))))
    matches = [Match(CODE, "fire", pid, key.rsplit(":", 1)[1]) for key, pid in keyed.items() if key not in fired]
    stale = session.execute(
        select(Alert.id)
        .join(TicketPart, TicketPart.id == Alert.subject_id)
        .where(Alert.state.in_(engine.OPEN_STATES), Alert.rule == CODE, TicketPart.status == PartStatus.CLOSED)
    ).scalars()
    return matches + [Match(CODE, "resolve", alert_id) for alert_id in stale]


def apply(session: Session, match: Match, now: datetime) -> str | None:
    if match.action == "fire":
        return "fired" if fire(session, match.subject_id, match.episode, now) else None
    alert = session.get(Alert, match.subject_id)
    if alert is None:
        return None
    ok = engine.resolve(session, alert, now=now, by_id=None, resolution="部门已有效响应")
    return "resolved" if ok else None


def fire(session: Session, part_id: int, episode: str, now: datetime) -> Alert | None:
    part = session.get(TicketPart, part_id)
    if part is None or part.status not in UNANSWERED or part.due_at >= now:
        return None
    department = part.department
    head = department.head
    opp = part.ticket.opportunity
    average = average_handling(session, part, now)
    late = now - part.due_at
    alert = engine.raise_alert(
        session,
        rule=CODE,
        subject_type="ticket_part",
        subject_id=part.id,
        episode=episode,
        title=f"{department.name}未按时响应「{part.request}」",
        now=now,
        detail={
            "department_id": department.id,
            "average_hours": average.hours,
            "average_parts": average.parts,
            "average_days": average.days,
            "overdue_hours": late.total_seconds() / 3600,
        },
        recipient_ids=[head.id] if head else [],
    )
    if alert is None:
        return None
    engine.notify(
        session,
        alert,
        head,
        f"【效能预警简报】{department.name}的协同任务「{part.request}」（客户「{opp.customer.name}」商机「{opp.title}」）"
        f"响应时限 {part.sla_hours} 小时，截止 {local_time(part.due_at)}，已超时 {how_long(late)}仍未有效响应。"
        f"{average.text()}。请尽快安排处理。",  # the mail is mentioned once it is sent (jobs/rules.py)
    )
    enqueue_after_commit(session, EFFICIENCY_BRIEF_JOB, alert.id, key=f"efficiency_brief:{alert.id}", queue="reports")
    return alert


def on_part_answered(session: Session, event: DomainEvent) -> None:
    if not event.payload.get("valid"):
        return
    for alert in engine.open_alerts_for(session, CODE, "ticket_part", event.subject_id):
        engine.resolve(session, alert, now=event.occurred_at, by_id=event.actor_id, resolution="部门已有效响应")


RULE = Rule(
    code=CODE,
    name="协同超时",
    trigger="时间：扫描超过响应时限的协同任务",
    area=setting_areas.CollaborationOverdue,
    settings=(
        "collaboration.marketing_sla_hours",
        "collaboration.delivery_sla_hours",
        "collaboration.enablement_sla_hours",
        "collaboration.reminder_hours_before",
        "collaboration_overdue.average_window_days",
    ),
    find=find,
    apply=apply,
    reactions={events.PART_ANSWERED: on_part_answered},
)


@dataclass(frozen=True)
class Brief:
    """效能预警简报: the e-mail to the department head."""

    to: str
    subject: str
    text: str
    html: str


def brief(session: Session, alert: Alert) -> Brief | None:
    part = session.get(TicketPart, alert.subject_id)
    head = part.department.head if part is not None else None
    if part is None or head is None or not head.email:
        return None
    department, opp = part.department, part.ticket.opportunity
    average = Average(
        alert.detail.get("average_hours"),
        int(alert.detail.get("average_parts", 0)),
        int(alert.detail.get("average_days", 30)),
    )
    late = how_long(timedelta(hours=float(alert.detail.get("overdue_hours", 0))))
    rows = [
        ("部门", f"{department.name}（负责人：{head.name}）"),
        ("协同任务", part.request),
        ("客户 / 商机", f"{opp.customer.name} / {opp.title}（{opp.stage.name}）"),
        ("负责销售", opp.owner.name),
        ("响应时限", f"{part.sla_hours} 小时，截止 {local_time(part.due_at)}"),
        ("超时", f"预警时已超时 {late}，仍未有效响应"),
        (
            f"近 {average.days} 天同类平均处理时长",
            hours_text(average.hours) + f"（共 {average.parts} 单）"
            if average.hours is not None
            else "无同类已完成协同单",
        ),
    ]
    subject = f"【效能预警简报】{department.name}协同任务超时：{opp.customer.name}·{opp.title}"
    text = "效能预警简报\n\n" + "\n".join(f"{k}：{v}" for k, v in rows) + "\n\n请尽快安排处理。——销售导航仪\n"
    cells = "".join(f"<tr><th align='left'>{escape(k)}</th><td>{escape(v)}</td></tr>" for k, v in rows)
    html = (
        "<html><body><h2>效能预警简报</h2>"
        f"<table border='1' cellpadding='6' cellspacing='0'>{cells}</table>"
        "<p>请尽快安排处理。——销售导航仪</p></body></html>"
    )
    return Brief(head.email, subject, text, html)
