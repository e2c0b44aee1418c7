"""The delivery log: outbound WeCom messages with status, attempts and last error (resend a failed
one), and inbound messages that could not be processed, with the reason (process them again)."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from salesnav import clock
from salesnav.handlers.admin.guard import require_admin
from salesnav.handlers.errors import DomainError, NotFound
from salesnav.handlers.records import audit
from salesnav.jobs.queue import enqueue_after_commit
from salesnav.models import AuditEntry, InboundMessage, InboundStatus, OutboundMessage, OutboundStatus, User

PAGE = 50


def outbound(session: Session, status: OutboundStatus | None = None, limit: int = PAGE) -> list[OutboundMessage]:
    query = select(OutboundMessage).order_by(OutboundMessage.id.desc()).limit(limit)
    if status is not None:
        query = query.where(OutboundMessage.status == status)
    return list(session.scalars(query))


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
    from salesnav.bot.outbox import deliver  # the bot package imports the handlers; import late

    message = session.get(OutboundMessage, message_id)
    if message is None:
        raise NotFound("消息不存在")
    if message.status is not OutboundStatus.FAILED:
        raise DomainError(f"只有发送失败的消息可以重发（当前：{message.status.label}）")
    before = {"status": message.status.value, "attempts": message.attempts, "last_error": message.last_error}
    message.status, message.attempts, message.next_attempt_at = OutboundStatus.QUEUED, 0, clock.now()
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
    enqueue_after_commit(session, deliver, message.id, key=f"outbound:{message.id}:resend:{entry.id}", queue="outbound")
    return message


def reprocess(session: Session, actor: User, inbound_id: int) -> InboundMessage:
    """Route a failed inbound message again (as `salesnav wecom reprocess` does), audited."""
    require_admin(actor)
    from salesnav.bot import inbound  # the bot package imports the handlers; import late

    row = session.get(InboundMessage, inbound_id)
    if row is None:
        raise NotFound("消息不存在")
    if row.status in (InboundStatus.PROCESSED, InboundStatus.IGNORED):
        raise DomainError(f"该消息已处理（{row.status.label}），无需重新处理")
    before = {"status": row.status.value, "error": row.error}
    row.status, row.error = InboundStatus.RECEIVED, None
    session.flush()
    audit(session, actor, "inbound_message", row.id, "reprocess", before, {"status": row.status.value})
    # Its earlier job run failed, so the same key may run again (salesnav/jobs/runner.py).
    enqueue_after_commit(session, inbound.process_inbound, row.id, key=inbound.job_key(row.id), queue="inbound")
    return row


def audit_log(session: Session, limit: int = 100) -> list[AuditEntry]:
    return list(session.scalars(select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit)))
