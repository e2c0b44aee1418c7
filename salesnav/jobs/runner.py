"""Runs one job with its idempotency key: a key that has already run (or is running) is skipped."""

from __future__ import annotations

import importlib
import logging
from datetime import timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from salesnav import clock
from salesnav.models import JobRun
from salesnav.models import session as db

log = logging.getLogger(__name__)

# A run still marked "running" after this long belongs to a crashed worker and may be taken over.
STALE_AFTER = timedelta(minutes=15)


def run_job(path: str, args: list[Any], key: str | None = None) -> Any:
    module, _, name = path.partition(":")
    func = getattr(importlib.import_module(module), name)
    if key is None:
        return func(*args)
    if not _claim(key, path, args):
        log.info("job %s with key %s already ran; skipped", path, key)
        return None
    try:
        result = func(*args)
    except Exception as exc:
        _finish(key, "failed", repr(exc)[:2000])
        raise
    _finish(key, "done", None)
    return result


def _claim(key: str, path: str, args: list[Any]) -> bool:
    now = clock.now()
    try:
        with db.transaction() as session:
            session.add(JobRun(key=key, job=path, args=args, status="running", started_at=now))
        return True
    except IntegrityError:
        pass
    # Someone has the key: take it over only if their run failed or went stale.
    with db.transaction() as session:
        run = session.scalars(select(JobRun).where(JobRun.key == key)).one()
        if run.status == "done" or (run.status == "running" and now - run.started_at < STALE_AFTER):
            return False
        claimed = session.execute(
            update(JobRun)
            .where(JobRun.key == key, JobRun.attempts == run.attempts)
            .values(status="running", attempts=run.attempts + 1, started_at=now, error=None)
        )
        return claimed.rowcount == 1  # type: ignore[attr-defined]  # an UPDATE's result is a CursorResult, which has rowcount


def _finish(key: str, status: str, error: str | None) -> None:
    with db.transaction() as session:
        session.execute(
            update(JobRun).where(JobRun.key == key).values(status=status, error=error, finished_at=clock.now())
        )
