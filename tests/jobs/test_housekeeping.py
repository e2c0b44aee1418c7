"""Finished periodic job runs are pruned after two days; anything else is kept."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from salesnav.jobs.housekeeping import prune_job_runs
from salesnav.models import JobRun


def test_only_finished_clock_runs_older_than_two_days_are_pruned(session, frozen_clock):
    now = frozen_clock.now()
    old, recent = now - timedelta(days=3), now - timedelta(hours=1)
    session.add_all(
        [
            JobRun(key="clock:rules.scan:1", job="j", status="done", started_at=old, finished_at=old),
            JobRun(key="clock:rules.scan:2", job="j", status="done", started_at=recent, finished_at=recent),
            JobRun(key="clock:rules.scan:3", job="j", status="failed", started_at=old, finished_at=old),
            JobRun(key="event:42", job="j", status="done", started_at=old, finished_at=old),
        ]
    )
    session.commit()
    assert prune_job_runs() == 1
    session.expire_all()
    assert sorted(r.key for r in session.scalars(select(JobRun))) == [
        "clock:rules.scan:2",
        "clock:rules.scan:3",
        "event:42",
    ]
