"""The delivery log: outbound WeCom messages with recipient, status, attempts, next attempt and last error
(resend a failed one, or all of them), messages queued too long, and inbound messages that could not be
processed, with the reason (process them again)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, and_, func, or_, select, update
from sqlalchemy.orm import Session

from salesnav import clock
from salesnav.handlers.admin.guard import require_admin
from salesnav.handlers.errors import DomainError, NotFound
from salesnav.handlers.records import audit, audits
from salesnav.jobs.queue import enqueue_after_commit
from salesnav.jobs.runner import lease_expired
from salesnav.models import AuditEntry, InboundMessage, InboundStatus, JobRun, OutboundMessage, OutboundStatus, User

PAGE = 50
# The jobs that carry messages belong to the chat channel above; named by path so this use case imports none.
DELIVER_JOB = "salesnav.bot.outbox:deliver"
PROCESS_INBOUND_JOB = "salesnav.bot.inbound:process_inbound"
# A queued message this long past its due time is 排队过久: no worker sent it when it was due. A due
# message goes within seconds (the outbox flush runs every 5 s), and a retry or a throttled message is
# not due before its next attempt, so only a message nobody is sending stays here this long.
STUCK_AFTER = timedelta(minutes=10)


def _stuck(now: datetime) -> ColumnElement[bool]:
    cutoff = now - STUCK_AFTER
    return and_(
        OutboundMessage.status == OutboundStatus.QUEUED,
        or_(
            OutboundMessage.next_attempt_at < cutoff,
            and_(OutboundMessage.next_attempt_at.is_(None), OutboundMessage.created_at < cutoff),
        ),
    )


def is_stuck(message: OutboundMessage, now: datetime) -> bool:
    due = message.next_attempt_at or message.created_at
    return message.status is OutboundStatus.QUEUED and due < now - STUCK_AFTER


@dataclass(frozen=True)
class DeliveryHealth:
    """What the admin overview shows of outbound delivery."""

    failed: int
    stuck: int  # queued more than STUCK_AFTER past their due time
    waiting: int  # due now and not sent yet: the outbox's queue depth
    oldest_wait_seconds: float  # how long the longest-waiting of them has waited since it was due


@dataclass(frozen=True)
class OutboxQueue:
    """The outbox's queue: messages due and not sent yet (WeCom's rates spread a burst over minutes)."""

    depth: int
    oldest_wait_seconds: float


def outbox_queue(session: Session) -> OutboxQueue:
    now = clock.now()
    due = func.coalesce(OutboundMessage.next_attempt_at, OutboundMessage.created_at)
    depth, oldest = session.execute(
        select(func.count(), func.min(due)).where(OutboundMessage.status == OutboundStatus.QUEUED, due <= now)
    ).one()
    wait = max((now - oldest).total_seconds(), 0.0) if oldest is not None else 0.0
    return OutboxQueue(depth=depth or 0, oldest_wait_seconds=round(wait, 1))


def delivery_health(session: Session) -> DeliveryHealth:
    failed = session.scalar(select(func.count()).where(OutboundMessage.status == OutboundStatus.FAILED))
    stuck = session.scalar(select(func.count()).where(_stuck(clock.now())))
    queue = outbox_queue(session)
    return DeliveryHealth(
        failed=failed or 0, stuck=stuck or 0, waiting=queue.depth, oldest_wait_seconds=queue.oldest_wait_seconds
    )


@dataclass(frozen=True)
class LoggedMessage:
    message: OutboundMessage
    recipient_name: str | None  # the member's name; None when no user has this WeCom userid
    stuck: bool


def outbound(
    session: Session, status: OutboundStatus | None = None, *, stuck_only: bool = False, limit: int = PAGE
) -> list[LoggedMessage]:
    """The latest outbound messages (of one status, or only those queued too long), with their recipients' names."""
    now = clock.now()
    query = select(OutboundMessage).order_by(OutboundMessage.id.desc()).limit(limit)
    if status is not None:
        query = query.where(OutboundMessage.status == status)
    if stuck_only:
        query = query.where(_stuck(now))
    messages = list(session.scalars(query))
    userids = {m.recipient_userid for m in messages}
    names: dict[str, str] = {}
    current_last = User.deleted_at.is_(None)  # a current member's name wins over a retired one's
    for userid, name in session.execute(
        select(User.wecom_userid, User.name).where(User.wecom_userid.in_(userids)).order_by(current_last)
    ):
        names[userid] = name
    return [LoggedMessage(m, names.get(m.recipient_userid), is_stuck(m, now)) for m in messages]


def outbound_counts(session: Session) -> dict[OutboundStatus, int]:
    rows = session.execute(select(OutboundMessage.status, func.count()).group_by(OutboundMessage.status)).all()
    return {status: count for status, count in rows}


def unprocessed_inbound(session: Session, limit: int = PAGE) -> list[InboundMessage]:
    """Failed messages, and received ones stuck for over ten minutes (a worker died on them)."""
    stuck = clock.now().timestamp() - 600
    rows = session.scalars(
        select(InboundMessage)
        .where(InboundMessage.status.in_((InboundStatus.FAILED, InboundStatus.RECEIVED)))
        .order_by(InboundMessage.id.desc())
        .limit(limit * 2)
    )
    return [r for r in rows if r.status is InboundStatus.FAILED or r.received_at.timestamp() < stuck][:limit]


def resend(session: Session, actor: User, message_id: int) -> OutboundMessage:
    """Queue a failed message again with fresh attempts; the outbox's `deliver` job sends it after commit."""
    require_admin(actor)
    message = session.get(OutboundMessage, message_id)
    if message is None:
        raise NotFound("消息不存在")
    if message.status is not OutboundStatus.FAILED:
        raise DomainError(f"只有发送失败的消息可以重发（当前：{message.status.label}）")
    before = {"status": message.status.value, "attempts": message.attempts, "last_error": message.last_error}
    message.status, message.attempts, message.next_attempt_at = OutboundStatus.QUEUED, 0, clock.now()
    message.mark_resent()  # a new request to WeCom, not a retry its duplicate check would swallow
    session.flush()
    entry = audit(
        session,
        actor,
        "outbound_message",
        message.id,
        "resend",
        before,
        {"status": message.status.value, "attempts": 0},
    )
    session.flush()
    # The first delivery's job key has run; each resend gets its own (the audit row's id is unique).
    enqueue_after_commit(
        session, DELIVER_JOB, message.id, key=f"outbound:{message.id}:resend:{entry.id}", queue="outbound"
    )
    return message


def resend_failed(session: Session, actor: User) -> int:
    """Queue every failed message again with fresh attempts, as `resend` does one; returns how many."""
    require_admin(actor)
    failed = session.execute(
        select(OutboundMessage.id, OutboundMessage.attempts, OutboundMessage.last_error)
        .where(OutboundMessage.status == OutboundStatus.FAILED)
        .order_by(OutboundMessage.id)
        .with_for_update()
    ).all()
    if not failed:
        return 0
    ids = [row.id for row in failed]
    for start in range(0, len(ids), 1000):
        session.execute(
            update(OutboundMessage)
            .where(OutboundMessage.id.in_(ids[start : start + 1000]))
            .values(status=OutboundStatus.QUEUED, attempts=0, next_attempt_at=clock.now())
            .execution_options(synchronize_session=False)
        )
    for message in session.scalars(select(OutboundMessage).where(OutboundMessage.id.in_(ids))):
        message.mark_resent()  # a new request to WeCom, not a retry its duplicate check would swallow
    audits(
        session,
        actor,
        "outbound_message",
        "resend",
        [
            (
                row.id,
                {"status": OutboundStatus.FAILED.value, "attempts": row.attempts, "last_error": row.last_error},
                {"status": OutboundStatus.QUEUED.value, "attempts": 0},
            )
            for row in failed
        ],
    )
    batch = secrets.token_hex(6)  # each resend of a message needs its own job key (its first one has run)
    for message_id in ids:
        enqueue_after_commit(
            session, DELIVER_JOB, message_id, key=f"outbound:{message_id}:resend:{batch}", queue="outbound"
        )
    return len(ids)


def reprocess(session: Session, actor: User, inbound_id: int) -> InboundMessage:
    """Route a failed inbound message again (as `salesnav wecom reprocess` does), audited."""
    require_admin(actor)
    row = session.get(InboundMessage, inbound_id)
    if row is None:
        raise NotFound("消息不存在")
    if row.status in (InboundStatus.PROCESSED, InboundStatus.IGNORED):
        raise DomainError(f"该消息已处理（{row.status.label}），无需重新处理")
    key = f"inbound:{row.id}"  # the chat channel's job key for this message (salesnav/bot/inbound.py)
    run = session.scalars(select(JobRun).where(JobRun.key == key)).first()
    if run is not None and run.status == "running" and not lease_expired(run, clock.now()):
        raise DomainError("该消息正由运行中的 worker 处理，未重新排队；请稍后刷新查看结果")
    if run is not None and run.status == "done":
        run.status = "failed"  # the row says it never got through: let the key run again
    before = {"status": row.status.value, "error": row.error}
    row.status, row.error = InboundStatus.RECEIVED, None
    session.flush()
    audit(session, actor, "inbound_message", row.id, "reprocess", before, {"status": row.status.value})
    # Its earlier run failed or its worker died (lease expired), so the key may run again (salesnav/jobs/runner.py).
    enqueue_after_commit(session, PROCESS_INBOUND_JOB, row.id, key=key, queue="inbound")
    return row


def audit_log(session: Session, limit: int = 100) -> list[AuditEntry]:
    return list(session.scalars(select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit)))
