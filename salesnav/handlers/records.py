"""Domain events and the audit trail, written in the caller's transaction."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from salesnav import clock
from salesnav.handlers.rules.events import subscribed
from salesnav.jobs.queue import enqueue_after_commit
from salesnav.models import AuditEntry, DomainEvent, User, bulk

# Jobs sit above the use cases: named by their path ("module:function"), never imported here.
DISPATCH_EVENT_JOB = "salesnav.jobs.rules:dispatch_event"
DISPATCH_EVENTS_JOB = "salesnav.jobs.rules:dispatch_events"


def record_event(
    session: Session, kind: str, subject_type: str, subject_id: int, actor: User | None, **payload: Any
) -> DomainEvent:
    event = DomainEvent(
        kind=kind,
        subject_type=subject_type,
        subject_id=subject_id,
        actor_id=actor.id if actor else None,
        payload=payload,
        occurred_at=clock.now(),
    )
    session.add(event)
    _schedule_rules(session, event)
    return event


def _schedule_rules(session: Session, event: DomainEvent) -> None:
    """Event-triggered rules run when the event is recorded: a job per event, after commit."""
    if not subscribed(event.kind):
        return
    session.flush()  # the job takes the event's id
    enqueue_after_commit(session, DISPATCH_EVENT_JOB, event.id, key=f"event:{event.id}", queue="rules")


def audit(
    session: Session,
    actor: User | None,
    entity_type: str,
    entity_id: int,
    action: str,
    before: dict[str, Any],
    after: dict[str, Any],
) -> AuditEntry:
    entry = AuditEntry(
        actor_id=actor.id if actor else None,
        entity_type=entity_type,
        entity_id=entity_id,
        action=action,
        before=before,
        after=after,
        occurred_at=clock.now(),
    )
    session.add(entry)
    return entry


def audits(
    session: Session,
    actor: User | None,
    entity_type: str,
    action: str,
    items: list[tuple[int, dict[str, Any], dict[str, Any]]],
) -> None:
    """`audit` for many entities at once (bulk paths): (entity id, before, after) each, written in one statement."""
    now = clock.now()
    bulk.insert(  # ids from the table's own sequence: no one needs them back
        session,
        AuditEntry.__table__,
        [
            {
                "actor_id": actor.id if actor else None,
                "entity_type": entity_type,
                "entity_id": entity_id,
                "action": action,
                "before": before,
                "after": after,
                "occurred_at": now,
            }
            for entity_id, before, after in items
        ],
    )


def record_events(
    session: Session,
    kind: str,
    subject_type: str,
    items: list[tuple[int, dict[str, Any]]],
    actor: User | None,
) -> list[int]:
    """Many events of one kind at once (bulk paths such as the Excel import): written in one statement, and
    one rule job for the whole batch instead of one per event; the job runs the same reactions as
    `record_event`'s. Returns the events' ids."""
    if not items:
        return []
    now = clock.now()
    ids = bulk.insert_new(
        session,
        DomainEvent.__table__,
        [
            {
                "kind": kind,
                "subject_type": subject_type,
                "subject_id": subject_id,
                "actor_id": actor.id if actor else None,
                "payload": payload,
                "occurred_at": now,
            }
            for subject_id, payload in items
        ],
    )
    _schedule_rules_batch(session, kind, ids)
    return ids


def _schedule_rules_batch(session: Session, kind: str, ids: list[int]) -> None:
    if not subscribed(kind):
        return
    enqueue_after_commit(session, DISPATCH_EVENTS_JOB, ids, key=f"events:{ids[0]}-{ids[-1]}:{len(ids)}", queue="rules")
