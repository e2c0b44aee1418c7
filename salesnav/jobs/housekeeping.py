"""Housekeeping: job-run keys of finished periodic work are pruned so the table stays small.

Every clock slot leaves a JobRun row (three periodic jobs every 5–15 s ≈ 50,000 rows a day).
Their keys only matter while a slot could still be fired twice, so a finished run older
than `KEEP` is removed. JobRun is bookkeeping, not domain data: the no-hard-delete rule
guards domain rows in ORM sessions; this is a plain SQL statement on purpose.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete

from salesnav import clock
from salesnav.models import JobRun
from salesnav.models import session as db

KEEP = timedelta(days=2)


def prune_job_runs(fired_at: str | None = None) -> int:
    cutoff = clock.now() - KEEP
    with db.transaction() as session:
        result = session.execute(
            delete(JobRun).where(JobRun.status == "done", JobRun.finished_at < cutoff, JobRun.key.like("clock:%"))
        )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]  # an UPDATE's result is a CursorResult, which has rowcount
