"""Customer events: one timeline of what a customer did or what happened to them (issue 20, docs/journeys.md).

`record_customer_event` writes one event in the caller's transaction, idempotent by `dedupe_key` (a second
event with the same key is not written and the call answers None): a resent webhook, a replayed beacon or a
re-run import records nothing twice. `record_customer_events` writes many at once (the Excel import's bulk path).

The journeys react to events: recording one calls `schedule_journeys`, which queues the journeys' job after
commit only for kinds some active journey listens to (`journeys_listen`) — so the thousands of events nobody
listens to cost one set lookup each.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from salesnav import clock
from salesnav.handlers.journeys import listening
from salesnav.jobs.queue import enqueue_after_commit
from salesnav.models import (
    CollaborationTicket,
    CustomerEvent,
    Emotion,
    EventSource,
    Opportunity,
    OpportunityStatus,
    Payment,
    Stage,
    StageTransition,
    Touchpoint,
    bulk,
)

# Jobs sit above the use cases: named by their path ("module:function"), never imported here.
JOURNEYS_ON_EVENT_JOB = "salesnav.jobs.journeys:on_customer_event"
JOURNEYS_ON_EVENTS_JOB = "salesnav.jobs.journeys:on_customer_events"

SOURCES = frozenset({EventSource.RADAR, EventSource.WEBHOOK, EventSource.SYSTEM})

# The kinds recorded from what we already record (source "system"); the 雷达 and webhook kinds are beside them.
MATERIAL_OPENED = "material.opened"
MATERIAL_READ = "material.read"
MATERIAL_DOWNLOADED = "material.downloaded"
TOUCHPOINT_LOGGED = "touchpoint.logged"
STAGE_ADVANCED = "opportunity.stage_advanced"
OPPORTUNITY_WON = "opportunity.won"
OPPORTUNITY_LOST = "opportunity.lost"
EMOTION_RECORDED = "emotion.recorded"
TICKET_OPENED = "ticket.opened"
PAYMENT_RECEIVED = "payment.received"
CUSTOMER_IMPORTED = "customer.imported"
WEBHOOK_PREFIX = "webhook."

# The Chinese name of each kind, for pages and messages (a webhook's kind is shown by its own name).
KIND_LABELS = {
    MATERIAL_OPENED: "打开了资料",
    MATERIAL_READ: "阅读了资料",
    MATERIAL_DOWNLOADED: "下载了资料",
    TOUCHPOINT_LOGGED: "记录了触点",
    STAGE_ADVANCED: "商机推进",
    OPPORTUNITY_WON: "商机赢单",
    OPPORTUNITY_LOST: "商机输单",
    EMOTION_RECORDED: "表现出情绪",
    TICKET_OPENED: "发起了协作工单",
    PAYMENT_RECEIVED: "收到回款",
    CUSTOMER_IMPORTED: "Excel 导入",
    "tag.added": "加上了标签",
    "tag.removed": "去掉了标签",
    "lifecycle.entered": "进入生命周期阶段",
    "lifecycle.left": "离开生命周期阶段",
}


def kind_label(kind: str) -> str:
    if kind.startswith(WEBHOOK_PREFIX):
        return f"外部系统事件：{kind.removeprefix(WEBHOOK_PREFIX)}"
    return KIND_LABELS.get(kind, kind)


def record_customer_event(
    session: Session,
    *,
    customer_id: int,
    kind: str,
    occurred_at: datetime | None = None,
    contact_id: int | None = None,
    payload: dict[str, Any] | None = None,
    source: str = EventSource.SYSTEM,
    dedupe_key: str | None = None,
) -> CustomerEvent | None:
    """Record one event of `customer_id` in the caller's transaction; None when `dedupe_key` was seen before.

    One INSERT ... ON CONFLICT (dedupe_key) DO NOTHING: a duplicate costs no exception and leaves the caller's
    transaction usable (no savepoint)."""
    if source not in SOURCES:
        raise ValueError(f"unknown event source {source!r}")
    if not kind or len(kind) > 60:
        raise ValueError(f"event kind must be 1..60 characters: {kind!r}")
    if dedupe_key is not None and len(dedupe_key) > 120:
        raise ValueError("dedupe_key longer than 120 characters")
    now = clock.now()
    session.flush()  # the customer or contact may have just been added in this unit of work
    statement = (
        _insert(session)
        .values(
            customer_id=customer_id,
            contact_id=contact_id,
            kind=kind,
            occurred_at=occurred_at or now,
            recorded_at=now,
            source=source,
            payload=payload or {},
            dedupe_key=dedupe_key,
        )
        .on_conflict_do_nothing(index_elements=[CustomerEvent.dedupe_key])
        .returning(CustomerEvent)  # the row as an ORM object, in the same statement
    )
    event = session.scalars(statement).first()
    if event is None:
        return None
    schedule_journeys(session, event)
    return event


@dataclass(frozen=True)
class NewCustomerEvent:
    """One event of a batch (`record_customer_events`)."""

    customer_id: int
    kind: str
    contact_id: int | None = None
    payload: dict[str, Any] = field(default_factory=dict)
    occurred_at: datetime | None = None
    dedupe_key: str | None = None


def record_customer_events(
    session: Session, events: Sequence[NewCustomerEvent], *, source: str = EventSource.SYSTEM
) -> list[int]:
    """Many events in one statement (bulk paths: the Excel import), ids taken up front; returns their ids.

    The batch's dedupe keys must be new (a bulk path writes rows it has just created); the journeys' job is
    queued once per event whose kind some journey listens to."""
    if not events:
        return []
    if source not in SOURCES:
        raise ValueError(f"unknown event source {source!r}")
    now = clock.now()
    table = CustomerEvent.__table__
    ids = bulk.take_ids(session, table, len(events))
    bulk.insert(
        session,
        table,
        [{"id": event_id, **_row(e, now, source)} for event_id, e in zip(ids, events, strict=True)],
    )
    for event_id, e in zip(ids, events, strict=True):
        if journeys_listen(e.kind):
            enqueue_after_commit(session, JOURNEYS_ON_EVENT_JOB, event_id, key=_job_key(event_id), queue="rules")
    return ids


def _row(e: NewCustomerEvent, now: datetime, source: str) -> dict[str, Any]:
    """An event's columns as both bulk writers insert them."""
    return {
        "customer_id": e.customer_id,
        "contact_id": e.contact_id,
        "kind": e.kind,
        "occurred_at": e.occurred_at or now,
        "recorded_at": now,
        "source": source,
        "payload": e.payload,
        "dedupe_key": e.dedupe_key,
    }


def record_customer_events_once(
    session: Session, events: Sequence[NewCustomerEvent], *, source: str = EventSource.SYSTEM
) -> list[int | None]:
    """Many events, each with its own dedupe key, in one INSERT ... ON CONFLICT (dedupe_key) DO NOTHING (a batch
    from the webhook: a resent batch records nothing twice); each one's id, None where its key was recorded
    before. The journeys hear the batch in one job (`schedule_journeys_many`)."""
    if not events:
        return []
    if source not in SOURCES:
        raise ValueError(f"unknown event source {source!r}")
    keys = [e.dedupe_key for e in events]
    if any(key is None or len(key) > 120 for key in keys) or len(set(keys)) != len(keys):
        raise ValueError("every event of a batch needs its own dedupe_key (at most 120 characters)")
    for e in events:
        if not e.kind or len(e.kind) > 60:
            raise ValueError(f"event kind must be 1..60 characters: {e.kind!r}")
    now = clock.now()
    session.flush()
    table = CustomerEvent.__table__
    statement = (
        _insert(session)
        .values([_row(e, now, source) for e in events])
        .on_conflict_do_nothing(index_elements=[table.c.dedupe_key])
        .returning(table.c.id, table.c.dedupe_key)
    )
    ids: dict[str | None, int] = {key: event_id for event_id, key in session.execute(statement)}
    found = [ids.get(key) for key in keys]
    schedule_journeys_many(session, [(i, e.kind) for i, e in zip(found, events, strict=True) if i is not None])
    return found


def schedule_journeys_many(session: Session, events: Sequence[tuple[int, str]]) -> None:
    """Queue the journeys' reaction to many (id, kind) events after commit: one job for those some journey hears."""
    heard = sorted(event_id for event_id, kind in events if journeys_listen(kind))
    if len(heard) == 1:
        enqueue_after_commit(session, JOURNEYS_ON_EVENT_JOB, heard[0], key=_job_key(heard[0]), queue="rules")
    elif heard:
        key = f"customer-events:{heard[0]}-{heard[-1]}:{len(heard)}"  # an id is in one batch only
        enqueue_after_commit(session, JOURNEYS_ON_EVENTS_JOB, heard, key=key, queue="rules")


def journeys_listen(kind: str) -> bool:
    """Whether some active journey is triggered by, waits for or exits on events of this kind (the kinds are
    read from the active journeys at most every few seconds per process: handlers/journeys/listening.py)."""
    return listening.listens(kind)


def schedule_journeys(session: Session, event: CustomerEvent) -> None:
    """Queue the journeys' reaction to `event` after commit, only when some journey listens to its kind."""
    if not journeys_listen(event.kind):
        return
    enqueue_after_commit(session, JOURNEYS_ON_EVENT_JOB, event.id, key=_job_key(event.id), queue="rules")


def customer_events(
    session: Session, customer_id: int, *, kinds: Sequence[str] | None = None, limit: int = 50
) -> list[CustomerEvent]:
    """A customer's latest events, newest first."""
    statement = select(CustomerEvent).where(CustomerEvent.customer_id == customer_id)
    if kinds:
        statement = statement.where(CustomerEvent.kind.in_(kinds))
    statement = statement.order_by(CustomerEvent.occurred_at.desc(), CustomerEvent.id.desc()).limit(limit)
    return list(session.scalars(statement))


def _job_key(event_id: int) -> str:
    return f"customer-event:{event_id}"


def _insert(session: Session) -> Any:
    dialect = session.get_bind().dialect.name
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(CustomerEvent)


# --- from what we already record (source "system"), in the recording use case's transaction ---------------


def record_touchpoint(session: Session, touchpoint: Touchpoint, contact_ids: Sequence[int]) -> None:
    """touchpoint.logged for a touchpoint just logged; and emotion.recorded when it carries a clear emotion
    (积极 or 抵触 — a voice note's heard emotion among them)."""
    payload: dict[str, Any] = {
        "touchpoint_id": touchpoint.id,
        "type": touchpoint.type.value,
        "type_label": touchpoint.type.label,
        "emotion": touchpoint.emotion.value,
        "source": touchpoint.source.value,
        "effective": touchpoint.is_effective,
        "opportunity_id": touchpoint.opportunity_id,
        "rep_id": touchpoint.rep_id,
    }
    contact_id = contact_ids[0] if len(contact_ids) == 1 else None
    record_customer_event(
        session,
        customer_id=touchpoint.customer_id,
        contact_id=contact_id,
        kind=TOUCHPOINT_LOGGED,
        occurred_at=touchpoint.occurred_at,
        payload={**payload, "contact_ids": list(contact_ids)},
        dedupe_key=f"touchpoint:{touchpoint.id}",
    )
    if touchpoint.emotion is not Emotion.NEUTRAL:
        record_emotion(session, touchpoint, contact_id=contact_id)


def record_emotion(session: Session, touchpoint: Touchpoint, *, contact_id: int | None = None) -> None:
    """emotion.recorded: the customer's emotion at a touchpoint (logged, or changed later, e.g. by a voice note)."""
    emotion = touchpoint.emotion
    record_customer_event(
        session,
        customer_id=touchpoint.customer_id,
        contact_id=contact_id,
        kind=EMOTION_RECORDED,
        occurred_at=touchpoint.occurred_at,
        payload={
            "touchpoint_id": touchpoint.id,
            "emotion": emotion.value,
            "emotion_label": emotion.label,
            "heard": "emotion" in (touchpoint.guessed_fields or []),  # read from a voice note or text, not picked
        },
        dedupe_key=f"emotion:{touchpoint.id}:{emotion.value}",
    )


def record_stage_move(
    session: Session, opp: Opportunity, transition: StageTransition, before: Stage, after: Stage, *, history: bool
) -> None:
    """opportunity.stage_advanced for a move; opportunity.won / opportunity.lost when it closed the deal.
    `history`: a move dated in the past (an import), which journeys may choose to ignore."""
    payload: dict[str, Any] = {
        "opportunity_id": opp.id,
        "title": opp.title,
        "product_line": opp.product_line,
        "from_stage": before.code,
        "to_stage": after.code,
        "to_stage_name": after.name,
        "amount_fen": opp.expected_amount_fen,
        "history": history,
    }
    record_customer_event(
        session,
        customer_id=opp.customer_id,
        kind=STAGE_ADVANCED,
        occurred_at=transition.occurred_at,
        payload=payload,
        dedupe_key=f"stage:{transition.id}",
    )
    if opp.status in (OpportunityStatus.WON, OpportunityStatus.LOST):
        record_customer_event(
            session,
            customer_id=opp.customer_id,
            kind=OPPORTUNITY_WON if opp.status is OpportunityStatus.WON else OPPORTUNITY_LOST,
            occurred_at=transition.occurred_at,
            payload=payload,
            dedupe_key=f"closed:{opp.id}",
        )


def record_ticket_opened(session: Session, ticket: CollaborationTicket, opp: Opportunity) -> None:
    record_customer_event(
        session,
        customer_id=opp.customer_id,
        kind=TICKET_OPENED,
        occurred_at=ticket.opened_at,
        payload={"ticket_id": ticket.id, "opportunity_id": opp.id, "reason": ticket.reason},
        dedupe_key=f"ticket:{ticket.id}",
    )


def record_payment(session: Session, payment: Payment, customer_id: int, *, source: str) -> None:
    record_customer_event(
        session,
        customer_id=customer_id,
        kind=PAYMENT_RECEIVED,
        occurred_at=payment.paid_at,
        payload={
            "payment_id": payment.id,
            "receivable_id": payment.receivable_id,
            "amount_fen": payment.amount_fen,
            "source": source,
        },
        dedupe_key=f"payment:{payment.id}",
    )


def record_imported(session: Session, import_id: int, customer_ids: Sequence[int]) -> list[int]:
    """customer.imported for the customers an Excel import has just filed: one statement for the lot."""
    return record_customer_events(
        session,
        [
            NewCustomerEvent(
                customer_id=customer_id,
                kind=CUSTOMER_IMPORTED,
                payload={"import_id": import_id},
                dedupe_key=f"import:{import_id}:{customer_id}",
            )
            for customer_id in dict.fromkeys(customer_ids)
        ],
    )
