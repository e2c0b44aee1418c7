"""A webhook batch's entries are decided for the whole batch at once: the statements of the journeys' job grow by
a few for the batch, not by round trips for each entry — and the outcome is the one entry by entry would give
(the rep's first message, the wait begun, the re-entry refused, a resent batch a no-op)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import event as sa_event
from sqlalchemy import func, select

from salesnav.handlers.journeys import runner
from salesnav.jobs.journeys import on_customer_events
from salesnav.models import (
    Contact,
    Customer,
    CustomerEvent,
    DomainEvent,
    EnrollmentState,
    HoldReason,
    JourneyEnrollment,
    JourneyMessageCount,
    JourneyStepRun,
    StepRunState,
)
from salesnav.models import session as db
from tests import factories as f
from tests.handlers.journeys import arrange as a
from tests.rules.conftest import received_texts

ENTRIES = 20


def bench_like(kind: str) -> dict:
    return {
        "trigger": {"kind": kind},
        "steps": [
            {
                "key": "hello",
                "title": "第一步",
                "owner": {"type": "rep"},
                "action": {"type": "message", "text": "{客户}进入了旅程"},
            },
            {"key": "pause", "title": "等一天", "wait": {"hours": 24}},
            {
                "key": "again",
                "title": "第二步",
                "owner": {"type": "rep"},
                "action": {"type": "message", "text": "再跟进"},
            },
        ],
        "reentry_days": 30,
        "frequency_cap": {"per_contact_per_day": 3},
    }


def counted(event_ids: list[int]) -> tuple[dict[str, int], int]:
    statements = []
    engine = db.get_engine()

    def seen(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    sa_event.listen(engine, "before_cursor_execute", seen)
    try:
        done = on_customer_events(event_ids)
    finally:
        sa_event.remove(engine, "before_cursor_execute", seen)
    return done, len(statements)


def record(kind: str, customers: list[Customer], now) -> list[int]:
    """The events as a webhook batch records them (no job queued here: the test runs the batch's job itself)."""
    with db.transaction() as session:
        events = [
            CustomerEvent(
                customer_id=c.id,
                contact_id=session.scalars(select(Contact.id).where(Contact.customer_id == c.id)).first(),
                kind=kind,
                occurred_at=now,
                recorded_at=now,
                source="webhook",
                payload={},
            )
            for c in customers
        ]
        session.add_all(events)
        session.flush()
        return [e.id for e in events]


def test_a_batch_of_entries_costs_a_few_statements_for_the_batch(session, frozen_clock, app):
    h = a.hospital(session, frozen_clock, with_deal=False)
    customers = [f.customer(session, h.org.rep, name=f"医院{i}") for i in range(ENTRIES)]
    session.commit()
    journey_id = a.journey(session, h, bench_like("webhook.order.paid"))

    ids = record("webhook.order.paid", customers, frozen_clock.now())
    done, entering = counted(ids)
    assert done["entered"] == ENTRIES
    again, rerun = counted(ids)  # the same batch again: nothing more
    assert again == {"entered": 0, "refused": 0, "exited": 0, "settled": 0}
    done, refusing = counted(record("webhook.order.paid", customers, frozen_clock.now()))
    assert done["refused"] == ENTRIES
    print(f"\nstatements: {ENTRIES} entries {entering} (again {rerun}), {ENTRIES} refused re-entries {refusing}")
    if db.get_engine().dialect.name == "postgresql":  # SQLite writes the refusals' records one by one
        assert entering <= 20 and refusing <= 12
    app.drain()

    enrolled = a.enrollments(journey_id)
    assert len(enrolled) == ENTRIES and {e.current_step for e in enrolled} == {"pause"}
    assert {e.state for e in enrolled} == {EnrollmentState.ACTIVE}
    with db.transaction() as s:
        runs = s.execute(select(JourneyStepRun.step_key, JourneyStepRun.state, JourneyStepRun.outcome)).all()
        assert sorted(set(runs)) == [("hello", StepRunState.DONE, "sent"), ("pause", StepRunState.WAITING, None)]
        assert len(runs) == 2 * ENTRIES
        refused = s.scalar(select(func.count()).where(DomainEvent.kind == "journey.entry_refused"))
        assert refused == ENTRIES
        assert s.scalar(select(func.count()).select_from(JourneyEnrollment)) == ENTRIES
    said = received_texts(app, h.org.rep.wecom_userid)
    assert sorted(t.split("\n")[-1] for t in said) == sorted(f"医院{i}进入了旅程" for i in range(ENTRIES))


def test_a_batch_keeps_quiet_hours_the_frequency_cap_and_a_customers_order(session, frozen_clock, app):
    h = a.hospital(session, frozen_clock, with_deal=False)
    customers = [f.customer(session, h.org.rep, name=f"医院{i}") for i in range(3)]
    session.commit()
    capped = bench_like("webhook.order.paid") | {"frequency_cap": {"per_contact_per_day": 1}}
    quiet = bench_like("webhook.trial.started") | {"quiet_hours": {"start": "21:00", "end": "08:00"}}
    capped_id, quiet_id = a.journey(session, h, capped), a.journey(session, h, quiet, name="免打扰旅程")
    with db.transaction() as s:  # the first customer's contact had its message today already
        contact_id = s.scalars(select(Contact.id).where(Contact.customer_id == customers[0].id)).one()
        today = runner.business_day(frozen_clock.now())
        s.add(JourneyMessageCount(audience=f"contact:{contact_id}", day=today, sent=1))

    frozen_clock.set(datetime(2026, 3, 2, 14, 0, tzinfo=UTC))  # 22:00 in Shanghai: quiet
    now = frozen_clock.now()
    # the third customer twice in the batch: entered once, then refused as in the journey already
    ids = record("webhook.order.paid", [*customers, customers[2]], now)
    ids += record("webhook.trial.started", customers[:1], now)
    done, _ = counted(ids)
    assert done == {"entered": 4, "refused": 1, "exited": 0, "settled": 0}
    app.drain()

    with db.transaction() as s:
        runs = s.execute(
            select(JourneyEnrollment.journey_id, JourneyEnrollment.customer_id, JourneyStepRun.state)
            .join(JourneyStepRun, JourneyStepRun.enrollment_id == JourneyEnrollment.id)
            .where(JourneyStepRun.step_key == "hello")
        ).all()
        held = s.execute(select(JourneyStepRun.hold_reason).where(JourneyStepRun.state == StepRunState.HELD)).all()
    assert sorted(runs) == sorted(
        [
            (capped_id, customers[0].id, StepRunState.HELD),  # the cap: tomorrow
            (capped_id, customers[1].id, StepRunState.DONE),
            (capped_id, customers[2].id, StepRunState.DONE),
            (quiet_id, customers[0].id, StepRunState.HELD),  # quiet hours: at 08:00
        ]
    )
    assert sorted(r.hold_reason.value for r in held) == sorted(
        [HoldReason.FREQUENCY_CAP.value, HoldReason.QUIET_HOURS.value]
    )
    said = received_texts(app, h.org.rep.wecom_userid)
    assert sorted(t.split("\n")[-1] for t in said) == ["医院1进入了旅程", "医院2进入了旅程"]
