"""Customer events (issue 20): one timeline per customer, idempotent by dedupe key, the journeys' hook."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from salesnav.handlers import customer_events as ce
from salesnav.jobs import queue as jobs_queue
from salesnav.models import CustomerEvent, EventSource, JobRun
from tests import factories as f

pytestmark = pytest.mark.smoke


def _count(session, **where):
    statement = select(func.count()).select_from(CustomerEvent)
    for name, value in where.items():
        statement = statement.where(getattr(CustomerEvent, name) == value)
    return session.scalar(statement)


def test_an_event_is_recorded_on_the_customers_timeline_with_its_contact_and_payload(session, frozen_clock):
    org = f.org(session)
    cust = f.customer(session, org.rep)
    contact = cust.contacts[0]
    earlier = frozen_clock.now() - timedelta(minutes=5)
    event = ce.record_customer_event(
        session,
        customer_id=cust.id,
        contact_id=contact.id,
        kind=ce.MATERIAL_OPENED,
        occurred_at=earlier,
        payload={"material_id": 7},
        source=EventSource.RADAR,
    )
    session.commit()
    assert event is not None
    assert (event.customer_id, event.contact_id, event.kind, event.source) == (
        cust.id,
        contact.id,
        "material.opened",
        "radar",
    )
    assert event.occurred_at == earlier and event.recorded_at == frozen_clock.now()
    assert event.payload == {"material_id": 7}
    assert ce.customer_events(session, cust.id) == [event]


def test_the_same_dedupe_key_records_nothing_twice_and_leaves_the_transaction_usable(session, frozen_clock):
    org = f.org(session)
    cust = f.customer(session, org.rep)
    first = ce.record_customer_event(session, customer_id=cust.id, kind="webhook.order", dedupe_key="erp:42")
    again = ce.record_customer_event(
        session, customer_id=cust.id, kind="webhook.order", dedupe_key="erp:42", payload={"other": 1}
    )
    assert first is not None and again is None
    # the caller's unit of work goes on after a duplicate: no exception, no rolled-back savepoint
    later = ce.record_customer_event(session, customer_id=cust.id, kind="webhook.order", dedupe_key="erp:43")
    session.commit()
    assert later is not None
    assert _count(session, customer_id=cust.id) == 2
    assert session.get(CustomerEvent, first.id).payload == {}


def test_events_without_a_key_are_each_recorded(session, frozen_clock):
    org = f.org(session)
    cust = f.customer(session, org.rep)
    for _ in range(3):
        assert ce.record_customer_event(session, customer_id=cust.id, kind=ce.TOUCHPOINT_LOGGED) is not None
    session.commit()
    assert _count(session, kind="touchpoint.logged") == 3


def test_an_unknown_source_or_an_empty_kind_is_a_programming_error(session, frozen_clock):
    org = f.org(session)
    cust = f.customer(session, org.rep)
    with pytest.raises(ValueError):
        ce.record_customer_event(session, customer_id=cust.id, kind="x.y", source="crm")
    with pytest.raises(ValueError):
        ce.record_customer_event(session, customer_id=cust.id, kind="")


def test_a_batch_is_written_in_one_go_and_shows_on_the_timelines(session, frozen_clock):
    org = f.org(session)
    customers = [f.customer(session, org.rep) for _ in range(3)]
    ids = ce.record_customer_events(
        session,
        [ce.NewCustomerEvent(customer_id=c.id, kind=ce.CUSTOMER_IMPORTED, payload={"import_id": 1}) for c in customers],
    )
    session.commit()
    assert len(ids) == 3 and ids == sorted(ids)
    for c in customers:
        (event,) = ce.customer_events(session, c.id)
        assert event.kind == "customer.imported" and event.source == "system"
        assert event.occurred_at == frozen_clock.now()


def test_with_no_active_journey_hearing_the_kind_recording_queues_nothing(session, frozen_clock):
    org = f.org(session)
    cust = f.customer(session, org.rep)
    ce.record_customer_event(session, customer_id=cust.id, kind=ce.MATERIAL_DOWNLOADED)
    session.commit()
    jobs_queue.backend().drain()
    assert ce.journeys_listen(ce.MATERIAL_DOWNLOADED) is False
    assert session.scalar(select(func.count()).select_from(JobRun)) == 0


def test_a_kind_a_journey_listens_to_queues_the_journeys_job_after_commit(session, frozen_clock, monkeypatch):
    org = f.org(session)
    cust = f.customer(session, org.rep)
    monkeypatch.setattr(ce, "journeys_listen", lambda kind: kind == ce.MATERIAL_DOWNLOADED)
    downloaded = ce.record_customer_event(session, customer_id=cust.id, kind=ce.MATERIAL_DOWNLOADED)
    ce.record_customer_event(session, customer_id=cust.id, kind=ce.MATERIAL_OPENED)
    session.commit()
    jobs_queue.backend().drain()
    runs = session.scalars(select(JobRun)).all()
    assert [(r.job, r.args, r.status) for r in runs] == [
        (ce.JOURNEYS_ON_EVENT_JOB, [downloaded.id], "done"),
    ]
