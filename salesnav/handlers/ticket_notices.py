"""Who hears of a collaboration ticket part (跨部门协同单), and when — so a department learns of it when it
opens, not when it is already late.

- A part opens (the deal entered 样品测试, a manager forwarded a help request, a rep asked for enablement):
  the department's head and the members the admin names (Department.ticket_notice_user_ids) each get a
  WeCom card with the request, the deal, the absolute deadline and the buttons to answer.
- Before its deadline the same people get one reminder per part, unless it already has a valid answer:
  `collaboration.reminder_hours_before` (4) hours before it, never in the first half of a shorter SLA.
  The clock's job (salesnav/jobs/collaboration.py) runs `parts_to_remind` and `remind`.
- A tap on 发文件 / 确认排期 / 标注风险 makes the member's next chat message (within
  `collaboration.chat_answer_window_minutes`) the answer: `start_chat_answer` and `pending_chat_answer`.

Messages are queued in the outbox in the caller's transaction and sent after commit, as the rules' are.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from salesnav import clock
from salesnav.handlers import rule_settings
from salesnav.handlers.records import record_event
from salesnav.handlers.working_time import rule_time
from salesnav.models import Department, DomainEvent, PartStatus, TicketPart, User
from salesnav.ports import notifications

WAITING = (PartStatus.OPEN, PartStatus.ANSWERED)  # no valid answer yet
BATCH = 1000
CHAT_STEPS = ("file", "date", "risk")
CHAT_STARTED = "collaboration.chat_answer_started"
# What ends a chat answer in progress: the part answered (or its risks marked) by the same member.
CHAT_FINISHED = ("collaboration.part_answered", "collaboration.part_risks_marked")


def recipients(session: Session, department: Department) -> list[User]:
    """The department's head, then the members the admin named, each once: active members only, and a named
    member only while they still belong to the department."""
    people: dict[int, User] = {}
    head = department.head
    if head is not None and head.active and head.deleted_at is None:
        people[head.id] = head
    named = department.ticket_notice_user_ids or []
    if named:
        for user in session.scalars(select(User).where(User.id.in_(named)).order_by(User.id)):
            if user.active and user.deleted_at is None and user.department_id == department.id:
                people.setdefault(user.id, user)
    return list(people.values())


def notify_opened(session: Session, part: TicketPart) -> list[User]:
    """Queue the part's card to each of its department's recipients; returns who they are."""
    session.flush()  # the part has its id
    people = recipients(session, part.department)
    _queue_cards(session, part, people, reminder=False)
    record_event(
        session,
        "collaboration.part_notified",
        "ticket_part",
        part.id,
        None,
        ticket_id=part.ticket_id,
        recipient_ids=[u.id for u in people],
    )
    return people


def _queue_cards(session: Session, part: TicketPart, people: list[User], *, reminder: bool) -> None:
    for user in people:
        notifications.notify(session, notifications.TicketPartToDepartment(part, user, reminder=reminder))


# --- the reminder before the deadline ---------------------------------------------------------------


def parts_to_remind(session: Session, now: datetime) -> list[int]:
    """Parts still waiting for a valid answer, not reminded yet, whose reminder time has come and whose
    deadline has not passed (then the collaboration-overdue rule speaks instead).

    The reminder time is `collaboration.reminder_hours_before` counted hours before the deadline, but never
    in the first half of the part's SLA (a short SLA is not reminded of right after it opens); hours count
    as the SLA's do (rules.working_days_only)."""
    hours = rule_settings.collaboration(session).reminder_hours_before
    if hours <= 0:
        return []
    counting = rule_time(session)
    # ix_ticket_parts_status_due: `hours` counted hours from now reach the deadline.
    rows = session.execute(
        select(TicketPart.id, TicketPart.created_at, TicketPart.sla_hours, TicketPart.due_at)
        .where(
            TicketPart.status.in_(WAITING),
            TicketPart.due_at > now,
            TicketPart.due_at <= counting.after(now, hours),
            TicketPart.reminded_at.is_(None),
        )
        .order_by(TicketPart.due_at)
        .limit(BATCH)
    ).all()
    return [
        pid
        for pid, opened, sla, due in rows
        if now >= max(counting.before(due, hours), counting.after(opened, sla / 2))
    ]


def remind(session: Session, part_id: int, now: datetime) -> bool:
    """Send the part's one reminder; False when it needs none (answered, late, or already reminded)."""
    part = session.get(TicketPart, part_id)
    if part is None or part.status not in WAITING or part.due_at <= now or part.reminded_at is not None:
        return False
    # The guarded update is the idempotency: of two concurrent runs, one sets reminded_at, the other none.
    claimed = session.execute(
        update(TicketPart)
        .where(TicketPart.id == part_id, TicketPart.reminded_at.is_(None))
        .values(reminded_at=now)
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount != 1:  # type: ignore[attr-defined]  # an UPDATE's result is a CursorResult, which has rowcount
        return False
    session.refresh(part)
    people = recipients(session, part.department)
    _queue_cards(session, part, people, reminder=True)
    record_event(
        session,
        "collaboration.part_reminded",
        "ticket_part",
        part.id,
        None,
        ticket_id=part.ticket_id,
        recipient_ids=[u.id for u in people],
    )
    return True


# --- answering in the chat --------------------------------------------------------------------------


@dataclass(frozen=True)
class PendingAnswer:
    """A member tapped 发文件 / 确认排期 / 标注风险: their next message answers `part` this way."""

    part: TicketPart
    step: str  # one of CHAT_STEPS
    response_code: str | None  # the tap's code, kept to update the card once the answer is in
    task_id: str | None


def chat_window(session: Session) -> timedelta:
    return timedelta(minutes=rule_settings.collaboration(session).chat_answer_window_minutes)


def start_chat_answer(
    session: Session, actor: User, part: TicketPart, step: str, *, response_code: str | None, task_id: str | None
) -> None:
    if step not in CHAT_STEPS:
        raise ValueError(step)
    record_event(
        session,
        CHAT_STARTED,
        "ticket_part",
        part.id,
        actor,
        step=step,
        response_code=response_code,
        task_id=task_id,
    )


def pending_chat_answer(session: Session, actor: User) -> PendingAnswer | None:
    """The answer `actor` started last within the window and has not given yet, if any."""
    since = clock.now() - chat_window(session)
    started = session.scalars(
        select(DomainEvent)
        .where(DomainEvent.kind == CHAT_STARTED, DomainEvent.actor_id == actor.id, DomainEvent.occurred_at >= since)
        .order_by(DomainEvent.id.desc())
        .limit(1)
    ).first()
    if started is None:
        return None
    finished = session.scalars(
        select(DomainEvent.id)
        .where(
            DomainEvent.kind.in_(CHAT_FINISHED),
            DomainEvent.subject_type == "ticket_part",
            DomainEvent.subject_id == started.subject_id,
            DomainEvent.actor_id == actor.id,
            DomainEvent.id > started.id,
        )
        .limit(1)
    ).first()
    part = session.get(TicketPart, started.subject_id)
    if finished is not None or part is None:
        return None
    payload = started.payload
    return PendingAnswer(part, str(payload["step"]), payload.get("response_code"), payload.get("task_id"))
