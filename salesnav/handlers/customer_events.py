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
from salesnav.jobs.queue import enqueue_after_commit
from salesnav.models import CustomerEvent, EventSource, bulk

# Jobs sit above the use cases: named by their path ("module:function"), never imported here.
JOURNEYS_ON_EVENT_JOB = "salesnav.jobs.journeys:on_customer_event"

SOURCES = frozenset({EventSource.RADAR, EventSource.WEBHOOK, EventSource.SYSTEM})

# The kinds recorded from what we already record (source "system"); the 雷达 and webhook kinds are beside them.
MATERIAL_OPENED = "material.opened"
MATERIAL_READ = "material.read"
MATERIAL_DOWNLOADED = "material.downloaded"
TOUCHPOINT_LOGGED = "touchpoint.logged"
STAGE_ADVANCED = "opportunity.stage_advanced"
OPPORTUNITY_WON = "opportunity.won"
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
        .returning(CustomerEvent.id)
    )
    event_id = session.execute(statement).scalar()
    if event_id is None:
        return None
    event = session.get(CustomerEvent, event_id)
    assert event is not None
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
        [
            {
                "id": event_id,
                "customer_id": e.customer_id,
                "contact_id": e.contact_id,
                "kind": e.kind,
                "occurred_at": e.occurred_at or now,
                "recorded_at": now,
                "source": source,
                "payload": e.payload,
                "dedupe_key": e.dedupe_key,
            }
            for event_id, e in zip(ids, events, strict=True)
        ],
    )
    for event_id, e in zip(ids, events, strict=True):
        if journeys_listen(e.kind):
            enqueue_after_commit(session, JOURNEYS_ON_EVENT_JOB, event_id, key=_job_key(event_id), queue="rules")
    return ids


def journeys_listen(kind: str) -> bool:
    """Whether some active journey is triggered by (or waits for) events of this kind. Replaced by the
    journeys' runner (issue 20): until then no journey listens."""
    return False


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
