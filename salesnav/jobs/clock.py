"""The clock: APScheduler firing the periodic jobs, guarded so that only one clock fires.

All periodic jobs live in `PERIODIC`, each with a stable id; starting the scheduler twice
never duplicates them. A tick only enqueues a job (with an idempotency key per slot), so
the work itself happens on the workers and a slow job never delays the clock. One exception, `inline`: the
recovery sweep runs in the clock itself, because what it recovers from is a queue or a worker that failed.
Every tick also records that the clock is alive (heartbeat.ticked), for `/healthz`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.interval import IntervalTrigger

from salesnav import clock as timekeeper
from salesnav.jobs import (
    battle_pack,
    collaboration,
    customer_tags,
    dashboards,
    heartbeat,
    housekeeping,
    journeys,
    org_sync,
    pool,
    radar,
    recovery,
    rules,
    win_probability,
)
from salesnav.jobs.leader import Leadership, LocalLeadership, RedisLeadership
from salesnav.jobs.queue import enqueue
from salesnav.redis_client import redis_client

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PeriodicJob:
    id: str
    job: Callable[..., Any] | str  # a path for a job of the channels above (the outbox's)
    trigger: Any
    queue: str = "default"
    slot_seconds: int = 60  # idempotency granularity: one run per slot, however many clocks tick
    fire_at_start: bool = False
    inline: bool = False  # run in the clock process (the leader's) instead of queueing it


PERIODIC: list[PeriodicJob] = [
    PeriodicJob("clock.heartbeat", heartbeat.beat, IntervalTrigger(seconds=15), slot_seconds=15, fire_at_start=True),
    PeriodicJob(
        "outbound.flush_due",
        "salesnav.bot.outbox:flush_due",
        IntervalTrigger(seconds=5),
        queue="outbound",
        slot_seconds=5,
    ),
    # Every 5 s so an alert goes out within ~6 s of its threshold; each scan costs only what matches.
    PeriodicJob("rules.scan", rules.scan, IntervalTrigger(seconds=5), queue="rules", slot_seconds=5),
    # Every 5 s: journey steps due (held messages, waits, conditions timing out, SLA reminders and escalations).
    PeriodicJob("journeys.advance", journeys.advance_due, IntervalTrigger(seconds=5), queue="rules", slot_seconds=5),
    # Every minute: one reminder per collaboration part before its deadline (setting reminder_hours_before).
    PeriodicJob("collaboration.remind_due", collaboration.remind_due, IntervalTrigger(seconds=60), queue="rules"),
    # Every 30 s, in the clock itself: jobs committed but never queued (Redis was down) or whose worker died.
    PeriodicJob("jobs.recover", recovery.sweep, IntervalTrigger(seconds=30), inline=True, fire_at_start=True),
    PeriodicJob(
        "housekeeping.prune_job_runs", housekeeping.prune_job_runs, IntervalTrigger(hours=1), slot_seconds=3600
    ),
    # Every minute: at the pack hour it sends; a clock that was down then catches up at its first tick.
    PeriodicJob("battle_pack.send_due", battle_pack.send_due, IntervalTrigger(seconds=60), queue="reports"),
    # Every 30 s: folds the changes since the last run into Level 1's aggregates, so its figures are under a
    # minute behind (a quick queue: a run costs what changed; a slow-queue import must not hold it back).
    PeriodicJob(
        "dashboards.refresh_metric_aggregates",
        dashboards.refresh_metric_aggregates,
        IntervalTrigger(seconds=30),
        queue="default",
        slot_seconds=30,
    ),
    # Every minute: recomputes the pipeline forecast past half its life, so executives never wait for it.
    PeriodicJob(
        "dashboards.refresh_executive", dashboards.refresh_executive, IntervalTrigger(seconds=60), queue="reports"
    ),
    # Every minute: the rep's daily report, the team daily/weekly reports and the 补录 list, each at its hour.
    PeriodicJob(
        "reports.daily_due", "salesnav.bot.report_jobs:send_daily_due", IntervalTrigger(seconds=60), queue="reports"
    ),
    PeriodicJob(
        "reports.team_due", "salesnav.bot.report_jobs:send_team_due", IntervalTrigger(seconds=60), queue="reports"
    ),
    PeriodicJob(
        "reports.chase_due", "salesnav.bot.report_jobs:send_chase_due", IntervalTrigger(seconds=60), queue="reports"
    ),
    # Every 5 min: 回款 reminders before the due date, one overdue flag per receivable, cleared by its payment.
    PeriodicJob(
        "reports.collections",
        "salesnav.bot.report_jobs:collections_due",
        IntervalTrigger(minutes=5),
        queue="rules",
        slot_seconds=300,
    ),
    # Every 5 min: the public pool's warnings and returns (公海); every minute: visit briefs and new talk tracks.
    PeriodicJob("pool.scan", pool.scan, IntervalTrigger(minutes=5), queue="rules", slot_seconds=300),
    PeriodicJob("brief.send_due", pool.send_briefs, IntervalTrigger(seconds=60), queue="reports"),
    # Every 30 s: a 雷达 view silent for 2 minutes gets its read summary (the phone went dark before saying so).
    PeriodicJob("radar.close_idle", radar.close_idle, IntervalTrigger(seconds=30), queue="rules", slot_seconds=30),
    # Every 5 min: rule tags and lifecycle stages of the customers changed since the last run; once a business day
    # every customer (what time alone changes: a trial ending, a renewal window opening, silence growing long).
    PeriodicJob("tags.refresh", customer_tags.refresh, IntervalTrigger(minutes=5), queue="rules", slot_seconds=300),
    # Hourly; syncs only in the 02:00 hour of business time (salesnav/jobs/org_sync.py).
    PeriodicJob("org.sync_nightly", org_sync.nightly, IntervalTrigger(hours=1), slot_seconds=3600),
    # Hourly; retrains in the 03:00 hour of business time, or at once while no version exists.
    PeriodicJob("win_probability.retrain", win_probability.retrain, IntervalTrigger(hours=1), slot_seconds=3600),
]


class Clock:
    def __init__(self, leadership: Leadership, periodic: list[PeriodicJob] | None = None) -> None:
        self.leadership = leadership
        self.periodic = PERIODIC if periodic is None else periodic
        self.fired: list[str] = []
        self._cut_off = False  # Redis was unreachable at the last tick

    def tick(self, periodic_job: PeriodicJob) -> bool:
        """Fire one periodic job if this clock leads. Returns whether it fired."""
        try:
            leads = self.leadership.is_leader()
        except Exception as exc:  # Redis away: no clock can know whether it leads; fire nothing
            if not self._cut_off:
                log.warning("the clock cannot reach Redis (%s); periodic jobs wait", type(exc).__name__)
            self._cut_off = True
            return False
        if not leads:
            return False
        if self._cut_off:
            # Back from an outage: what was committed meanwhile is swept up now, not at the next minute.
            self._cut_off = False
            log.info("the clock reaches Redis again")
            for inline in (pj for pj in self.periodic if pj.inline and pj.id != periodic_job.id):
                self.tick(inline)
        now: datetime = timekeeper.now()
        heartbeat.ticked(now)
        if periodic_job.inline:
            assert callable(periodic_job.job), "an inline job is one of ours, not a path"
            try:
                periodic_job.job(now.isoformat())
            except Exception:
                log.exception("periodic job %s failed in the clock", periodic_job.id)
        else:
            slot = int(now.timestamp()) // periodic_job.slot_seconds
            key = f"clock:{periodic_job.id}:{slot}"
            enqueue(periodic_job.job, now.isoformat(), key=key, queue=periodic_job.queue)
        self.fired.append(periodic_job.id)
        return True

    def install(self, scheduler: BaseScheduler) -> BaseScheduler:
        for pj in self.periodic:
            # replace_existing only dedupes a running scheduler; before start() jobs sit in a pending list.
            if scheduler.get_job(pj.id) is not None:
                scheduler.remove_job(pj.id)
            scheduler.add_job(
                self.tick,
                pj.trigger,
                args=[pj],
                id=pj.id,
                replace_existing=True,
                coalesce=True,
                max_instances=1,
                misfire_grace_time=30,
                **({"next_run_time": datetime.now(UTC)} if pj.fire_at_start else {}),
            )
        return scheduler


def leadership_for(redis_url: str) -> Leadership:
    if not redis_url:
        return LocalLeadership()
    return RedisLeadership(redis_client(redis_url))


def start_background(redis_url: str) -> BackgroundScheduler:
    """The embedded default: the clock inside the web process."""
    scheduler = BackgroundScheduler(timezone="UTC")
    Clock(leadership_for(redis_url)).install(scheduler)
    scheduler.start()
    return scheduler


def run_forever(redis_url: str) -> None:
    """The `clock` process of the Procfile."""
    scheduler = BlockingScheduler(timezone="UTC")
    Clock(leadership_for(redis_url)).install(scheduler)
    log.info("clock started with %d periodic jobs", len(PERIODIC))
    scheduler.start()
