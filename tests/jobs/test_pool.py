"""The clock's pool scan and brief sender: each tick does its work once, however often the clock fires."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from salesnav import clock
from salesnav.jobs import queue as jobs_queue
from salesnav.jobs.clock import PERIODIC, Clock
from salesnav.jobs.leader import LocalLeadership
from salesnav.models import OutboundMessage, PoolEntry, PoolWarning, VisitBrief
from salesnav.models import session as db
from tests import factories as f

SCAN = next(p for p in PERIODIC if p.id == "pool.scan")
BRIEFS = next(p for p in PERIODIC if p.id == "brief.send_due")


def tick(job) -> None:
    Clock(LocalLeadership(), periodic=[job]).tick(job)
    backend = jobs_queue.backend()
    assert isinstance(backend, jobs_queue.InProcessBackend)
    backend.drain()


def count(model) -> int:
    with db.transaction() as s:
        return int(s.scalar(select(func.count()).select_from(model)) or 0)


def test_the_scan_runs_every_five_minutes_and_warns_then_returns_once(session, frozen_clock):
    assert SCAN.trigger.interval == timedelta(minutes=5)
    org = f.org(session)
    f.customer(session, org.rep, grade="三乙")
    session.commit()
    frozen_clock.advance(timedelta(days=46))
    tick(SCAN)
    tick(SCAN)  # the same slot: the job key
    frozen_clock.advance(timedelta(minutes=5))
    tick(SCAN)  # the next slot: nothing new to warn
    assert count(PoolWarning) == 1
    frozen_clock.advance(timedelta(days=3))
    tick(SCAN)
    frozen_clock.advance(timedelta(minutes=5))
    tick(SCAN)
    assert count(PoolEntry) == 1


def test_the_brief_sender_runs_every_minute_and_briefs_a_visit_once(session, frozen_clock):
    assert BRIEFS.trigger.interval == timedelta(minutes=1)
    org = f.org(session)
    cust = f.customer(session, org.rep)
    f.touchpoint(session, org.rep, cust, next_action="演示", next_action_due=clock.now() + timedelta(minutes=30))
    session.commit()
    tick(BRIEFS)
    frozen_clock.advance(timedelta(minutes=1))
    tick(BRIEFS)
    assert count(VisitBrief) == 1
    with db.transaction() as s:
        keys = s.scalars(select(OutboundMessage.idempotency_key).where(OutboundMessage.recipient_userid == "rep01"))
        assert [k for k in keys if k and k.startswith("brief:")] == ["brief:1"]
