"""Inbound WeCom messages: stored before they are acknowledged, processed by a job.

A WeCom retry carries the same dedupe key, so it finds the stored row and is acknowledged
without a second record or a second job. Processing failures stay visible on the row
(status failed, error) and `reprocess()` runs it again.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite

from salesnav import clock
from salesnav.bot import router
from salesnav.bot.parse import WeComMessage, parse_message
from salesnav.handlers.errors import DomainError
from salesnav.jobs.queue import enqueue_after_commit
from salesnav.jobs.runner import lease_expired
from salesnav.models import InboundMessage, InboundStatus, JobRun
from salesnav.models import session as db

log = logging.getLogger(__name__)

MAX_ERROR = 4000


def job_key(inbound_id: int) -> str:
    return f"inbound:{inbound_id}"


def store(message: WeComMessage, xml: str, *, enqueue: bool = True) -> int | None:
    """Store the message and queue its processing; None when it was already stored (a retry).

    One INSERT ... ON CONFLICT (dedupe_key) DO NOTHING RETURNING id: a retry costs no exception and
    no second transaction, and Core skips the ORM's unit of work (the acknowledgement waits on this).
    """
    key = message.dedupe_key()
    with db.transaction() as session:
        insert = _insert_ignoring_duplicates(session.get_bind().dialect.name)
        inbound_id = session.scalar(
            insert.values(
                dedupe_key=key,
                from_userid=message.actor_userid[:64],
                msg_type=message.msg_type[:40],
                event=(message.event or None) and message.event[:60],
                raw_xml=xml,
                payload=message.fields,
                received_at=clock.now(),
            )
            .on_conflict_do_nothing(index_elements=[InboundMessage.dedupe_key])
            .returning(InboundMessage.id)
        )
        if inbound_id is None:
            log.info("duplicate WeCom callback %s acknowledged again", key)
            return None
        if enqueue:
            enqueue_after_commit(session, process_inbound, inbound_id, key=job_key(inbound_id), queue="inbound")
        return inbound_id


def _insert_ignoring_duplicates(dialect: str) -> Any:
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(InboundMessage)


def process_inbound(inbound_id: int) -> None:
    """The job: route one stored message. Idempotent by key; a processed row is left alone."""
    try:
        with db.transaction() as session:
            row = session.get(InboundMessage, inbound_id)
            if row is None or row.status in (InboundStatus.PROCESSED, InboundStatus.IGNORED):
                return
            outcome = router.dispatch(session, row, parse_message(row.raw_xml))
            row.status = InboundStatus.IGNORED if outcome.ignored else InboundStatus.PROCESSED
            row.error = outcome.note
            row.processed_at = clock.now()
    except DomainError as exc:
        # Rolled back above; the refusal is an answer, not a processing failure.
        with db.transaction() as session:
            row = session.get(InboundMessage, inbound_id)
            if row is not None:
                outcome = router.refuse(session, row, parse_message(row.raw_xml), exc)
                row.status, row.error, row.processed_at = InboundStatus.PROCESSED, outcome.note, clock.now()
    except Exception as exc:
        mark_failed(inbound_id, exc)
        raise  # the job run is marked failed too, so the same key may run again


def mark_failed(inbound_id: int, exc: BaseException) -> None:
    with db.transaction() as session:
        row = session.get(InboundMessage, inbound_id)
        if row is not None:
            row.status = InboundStatus.FAILED
            row.error = f"{type(exc).__name__}: {exc}"[:MAX_ERROR]
            row.processed_at = clock.now()


@dataclass(frozen=True)
class Reprocessed:
    """What `reprocess` did, in words an operator can act on."""

    queued: bool
    message: str


def reprocess(inbound_id: int) -> Reprocessed:
    """Queue a failed (or stuck) message again — unless it was processed, or a live process is processing it now.

    A run whose process died (its lease expired) is taken over; a run held by a live process is left to it,
    since queueing it again would only be skipped."""
    now = clock.now()
    with db.transaction() as session:
        row = session.get(InboundMessage, inbound_id)
        if row is None:
            raise LookupError(f"inbound message {inbound_id} not found")
        if row.status in (InboundStatus.PROCESSED, InboundStatus.IGNORED):
            return Reprocessed(False, f"消息 {inbound_id} 已处理完毕（{row.status}），无需重新处理")
        run = session.scalars(select(JobRun).where(JobRun.key == job_key(inbound_id))).first()
        note = "已重新排队处理"
        if run is not None and run.status == "running":
            if not lease_expired(run, now):
                until = run.lease_expires_at.isoformat(timespec="seconds") if run.lease_expires_at else "—"
                busy = f"正由一个运行中的 worker 处理（租约有效至 {until}），未重新排队；请稍后查看结果"
                return Reprocessed(False, f"消息 {inbound_id} {busy}")
            note = "上次处理它的进程已中断（租约已过期），已接手并重新排队处理"
        elif run is not None and run.status == "done":
            run.status = "failed"  # the row says it never got through: let the key run again
        row.status, row.error = InboundStatus.RECEIVED, None
        enqueue_after_commit(session, process_inbound, row.id, key=job_key(row.id), queue="inbound")
    return Reprocessed(True, f"消息 {inbound_id} {note}")
