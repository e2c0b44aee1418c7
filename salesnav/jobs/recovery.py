"""The recovery sweep: what was committed but never ran gets queued again, once.

Run by the clock every 30 s (in the clock process itself, so it needs neither a worker nor a free queue),
and therefore by the embedded default too. Three kinds of work are found:

- `queued` job runs: committed while the queue (Redis) refused them (salesnav/jobs/queue.py);
- `running` job runs whose lease expired: their process died mid-job (salesnav/jobs/runner.py);
- inbound WeCom messages still `received` a while after they arrived, with no live run: acknowledged to
  WeCom, but their job never reached a worker (Redis went away between the commit and the enqueue, or the
  process died there).

What it recovers goes to the `default` queue, which the quick worker takes last: after an outage, messages
that arrive now are answered at once while the backlog drains behind them (it waited already; making the new
ones wait behind it too would put every reply of the next minute a backlog late).

Everything is queued by its idempotency key, so a job that is in fact still waiting in a queue, or a sweep
that runs twice, costs a no-op run and never a second effect.
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from salesnav import clock
from salesnav.jobs import queue as jobs_queue
from salesnav.jobs.runner import STALE_AFTER, lease_expired
from salesnav.models import InboundMessage, InboundStatus, JobRun
from salesnav.models import session as db

log = logging.getLogger(__name__)

# An inbound message younger than this may simply be on its way through the queue.
# The chat channel's job, named by path so the jobs layer imports nothing above it.
PROCESS_INBOUND_JOB = "salesnav.bot.inbound:process_inbound"
INBOUND_GRACE = timedelta(seconds=30)
BATCH = 500
RECOVERY_QUEUE = "default"  # the quick worker's last


@dataclass
class SweepResult:
    requeued: list[str] = field(default_factory=list)  # keys queued again
    still_queued: int = 0  # the queue refused them again (Redis still down)

    def describe(self) -> str:
        tail = f"，{self.still_queued} 个仍无法排队" if self.still_queued else ""
        return f"重新排队 {len(self.requeued)} 个任务{tail}"


def sweep(fired_at: str | None = None) -> SweepResult:
    now = clock.now()
    result = SweepResult()
    calls: dict[str, jobs_queue.JobCall] = {}
    with db.transaction() as session:
        runs = session.scalars(
            select(JobRun)
            .where(
                or_(
                    JobRun.status == "queued",
                    (JobRun.status == "running")
                    & or_(JobRun.lease_expires_at <= now, JobRun.lease_expires_at.is_(None)),
                )
            )
            .order_by(JobRun.id)
            .limit(BATCH)
        )
        for run in runs:
            if run.status == "running" and not lease_expired(run, now):
                continue  # a run from before leases, not yet STALE_AFTER old
            calls[run.key] = jobs_queue.JobCall(run.job, tuple(run.args or ()), run.key, run.queue or "default")
        for call in _stranded_inbound(session, now):
            calls.setdefault(call.key or "", call)
    backend = jobs_queue.backend()
    for key, call in calls.items():
        try:
            if _is_pending(backend, key):
                continue
            _submit(backend, call)
            result.requeued.append(key)
        except Exception as exc:
            result.still_queued += 1
            log.warning("recovery: could not queue %s again: %s", key, exc)
            jobs_queue.record_unqueued(call)
    if result.requeued or result.still_queued:
        log.info("recovery sweep: %s", result.describe())
    return result


def _stranded_inbound(session: Session, now: datetime) -> list[jobs_queue.JobCall]:
    rows = session.scalars(
        select(InboundMessage.id)
        .where(InboundMessage.status == InboundStatus.RECEIVED, InboundMessage.received_at <= now - INBOUND_GRACE)
        .order_by(InboundMessage.id)
        .limit(BATCH)
    ).all()
    if not rows:
        return []
    keys = {f"inbound:{i}": i for i in rows}  # the chat channel's job keys (salesnav/bot/inbound.py)
    runs = {r.key: r for r in session.scalars(select(JobRun).where(JobRun.key.in_(list(keys))))}
    calls = []
    for key, inbound_id in keys.items():
        run = runs.get(key)
        if run is not None and (run.status == "done" or (run.status == "running" and not lease_expired(run, now))):
            continue  # done (the row says otherwise only for a moment) or alive
        calls.append(jobs_queue.JobCall(PROCESS_INBOUND_JOB, (inbound_id,), key, "inbound"))
    return calls


def _is_pending(backend: jobs_queue.Backend, key: str) -> bool:
    return bool(getattr(backend, "is_pending", lambda _k: False)(key))


def _submit(backend: jobs_queue.Backend, call: jobs_queue.JobCall) -> None:
    call = dataclasses.replace(call, queue=RECOVERY_QUEUE if call.queue not in jobs_queue.SLOW_QUEUES else call.queue)
    inner = backend.inner if isinstance(backend, jobs_queue.CommandBackend) else backend
    if isinstance(inner, jobs_queue.RqBackend):
        inner.requeue(call)
    else:
        inner.submit(call)


__all__ = ["STALE_AFTER", "SweepResult", "sweep"]
