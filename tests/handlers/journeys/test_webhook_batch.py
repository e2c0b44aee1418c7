"""A batch of outside events (POST /hooks/events/batch's use case) enters customers as single events do: one job for
the batch's heard events, each customer's first message out, the re-entry rule holding, a resent batch a no-op."""

from __future__ import annotations

from sqlalchemy import func, select

from salesnav.handlers import webhook_events
from salesnav.jobs.journeys import on_customer_events
from salesnav.models import CustomerEvent, DomainEvent, JobRun
from salesnav.models import session as db
from tests import factories as f
from tests.handlers.journeys import arrange as a
from tests.rules.conftest import received_texts


def greeting(kind: str) -> dict:
    return {
        "trigger": {"kind": kind},
        "steps": [
            {
                "key": "hi",
                "title": "问候",
                "owner": {"type": "rep"},
                "action": {"type": "message", "text": "{客户}下单了"},
            }
        ],
        "reentry_days": 30,
    }


def send(events: list[webhook_events.WebhookEvent]) -> list[webhook_events.BatchItem]:
    with db.transaction() as session:
        return webhook_events.record_webhook_events(session, events)


def test_a_batch_enters_its_customers_in_one_job_and_a_resend_records_and_enters_nothing(session, frozen_clock, app):
    h = a.hospital(session, frozen_clock, with_deal=False)
    other = f.customer(session, h.org.rep, name="湖州市中心医院")
    session.commit()
    journey_id = a.journey(session, h, greeting("webhook.order.paid"))
    batch = [
        webhook_events.WebhookEvent("erp", "o-1", "order.paid", customer_id=h.customer_id),
        webhook_events.WebhookEvent("erp", "n-1", "note.added", customer_id=other.id),  # no journey hears it
        webhook_events.WebhookEvent("erp", "o-2", "order.paid", customer_id=other.id),
        webhook_events.WebhookEvent("erp", "o-9", "order.paid", customer_id=999_999),
        webhook_events.WebhookEvent("erp", "o-1", "order.paid", customer_id=h.customer_id),  # a twin in the batch
    ]
    items = send(batch)
    app.drain()

    assert [i.status for i in items] == ["recorded", "recorded", "recorded", "refused", "duplicate"]
    assert items[3].refused == "找不到编号为 999999 的客户" and items[3].field == "customer.id"
    assert items[4].id == items[0].id
    assert sorted(e.customer_id for e in a.enrollments(journey_id)) == sorted([h.customer_id, other.id])
    said = received_texts(app, h.org.rep.wecom_userid)
    assert sorted(t.split("\n")[-1] for t in said) == ["嘉兴市第一医院下单了", "湖州市中心医院下单了"]
    with db.transaction() as s:
        jobs = s.scalars(select(JobRun.job).where(JobRun.job.like("%journeys:on_customer_event%"))).all()
        assert jobs == ["salesnav.jobs.journeys:on_customer_events"]  # one job for the two heard events

    again = send(batch)
    app.drain()
    assert [i.status for i in again] == ["duplicate", "duplicate", "duplicate", "refused", "duplicate"]
    assert [i.id for i in again if i.id] == [i.id for i in items if i.id]
    with db.transaction() as s:
        assert s.scalar(select(func.count()).select_from(CustomerEvent)) == 3
    assert len(a.enrollments(journey_id)) == 2
    assert len(received_texts(app, h.org.rep.wecom_userid)) == 2

    # a new order of a customer who went through the journey: recorded, and refused by the 30-day re-entry window
    [late] = send([webhook_events.WebhookEvent("erp", "o-3", "order.paid", customer_id=h.customer_id)])
    app.drain()
    assert late.status == "recorded" and len(a.enrollments(journey_id)) == 2
    assert on_customer_events([late.id])["refused"] == 1  # the batch's job taken again: refused, not recorded twice
    with db.transaction() as s:
        refused = s.scalars(select(DomainEvent).where(DomainEvent.kind == "journey.entry_refused")).all()
        assert [(r.payload["customer_id"], r.payload["why"]) for r in refused] == [
            (h.customer_id, "客户 30 天内已进入过该旅程（2026-03-02 09:30）")
        ]
