"""The clock: periodic jobs with stable ids, and only one of several clock processes fires."""

from __future__ import annotations

from datetime import timedelta

import pytest
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.interval import IntervalTrigger
from redis import Redis
from sqlalchemy import select

from salesnav.jobs import queue as jobs_queue
from salesnav.jobs.clock import PERIODIC, Clock, PeriodicJob
from salesnav.jobs.leader import LocalLeadership, RedisLeadership
from salesnav.models import JobRun
from tests.jobs.sample_jobs import noop_tick

TICK = PeriodicJob("test.tick", noop_tick, IntervalTrigger(seconds=60), slot_seconds=60)


def _runs(session):
    session.expire_all()
    return [r.key for r in session.scalars(select(JobRun).order_by(JobRun.id)) if r.status == "done"]


def test_two_clocks_sharing_redis_fire_once_per_tick(session, frozen_clock, redis_url):
    backend = jobs_queue.configure("")
    redis = Redis.from_url(redis_url)
    first = Clock(RedisLeadership(redis, ttl_ms=120_000), periodic=[TICK])
    second = Clock(RedisLeadership(redis, ttl_ms=120_000), periodic=[TICK])
    for _ in range(3):
        second.tick(TICK)
        first.tick(TICK)
        frozen_clock.advance(timedelta(minutes=1))
    backend.drain()
    assert len(second.fired) == 3 and first.fired == []  # whoever took the lock first keeps it
    assert len(_runs(session)) == 3


def test_the_other_clock_takes_over_when_the_leader_stops(redis_url):
    redis = Redis.from_url(redis_url)
    leader, standby = RedisLeadership(redis), RedisLeadership(redis)
    assert leader.is_leader() and not standby.is_leader()
    leader.release()
    assert standby.is_leader() and not leader.is_leader()


def test_a_lapsed_leader_cannot_renew_a_lock_someone_else_took(redis_url):
    redis = Redis.from_url(redis_url)
    old, new = RedisLeadership(redis, ttl_ms=1_000), RedisLeadership(redis, ttl_ms=1_000)
    assert old.is_leader()
    redis.delete(old.name)  # the TTL ran out while `old` was paused
    assert new.is_leader()
    assert not old.is_leader()
    assert redis.get(new.name) == new.token.encode()


@pytest.mark.smoke
def test_a_second_tick_in_the_same_slot_does_not_run_the_job_again(session, frozen_clock):
    backend = jobs_queue.configure("")
    clock = Clock(LocalLeadership(), [TICK])
    clock.tick(TICK)
    clock.tick(TICK)  # e.g. a misfire re-run inside the same minute
    frozen_clock.advance(timedelta(minutes=1))
    clock.tick(TICK)
    backend.drain()
    assert len(_runs(session)) == 2


def test_installing_the_periodic_jobs_twice_never_duplicates_them():
    scheduler = BackgroundScheduler(timezone="UTC")
    clock = Clock(LocalLeadership())
    clock.install(scheduler)
    clock.install(scheduler)
    assert sorted(j.id for j in scheduler.get_jobs()) == sorted(p.id for p in PERIODIC)


class _FlakyLeadership:
    """Leads, except while Redis is down (then it cannot know)."""

    down = False

    def is_leader(self) -> bool:
        if self.down:
            raise ConnectionError("Redis unreachable")
        return True

    def release(self) -> None:
        return None


def test_a_clock_back_from_a_redis_outage_sweeps_at_once_rather_than_at_the_next_minute(session, frozen_clock):
    swept: list[str] = []
    sweep = PeriodicJob("test.sweep", swept.append, IntervalTrigger(seconds=60), inline=True)
    leadership = _FlakyLeadership()
    clock = Clock(leadership, periodic=[TICK, sweep])
    leadership.down = True
    assert clock.tick(TICK) is False  # nothing fired, nothing raised: the scheduler keeps ticking
    leadership.down = False
    jobs_queue.configure("").drain()
    assert clock.tick(TICK) is True
    assert len(swept) == 1 and clock.fired == ["test.sweep", "test.tick"]
    clock.tick(sweep)
    assert len(swept) == 2  # and every minute as before
