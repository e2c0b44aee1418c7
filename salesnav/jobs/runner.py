"""Runs one job with its idempotency key: a key that has already run (or is running) is skipped.

A run is held with a lease: the process running it renews `lease_expires_at` every few seconds from a
heartbeat thread, for as long as the job runs. A run whose lease lies in the past belongs to a process that
died (SIGKILL, OOM, a lost machine); the next claim of its key takes it over, and the recovery sweep
(salesnav/jobs/recovery.py) queues that claim within a minute. A job killed mid-transaction left nothing
written, so running it again is running it once.
"""

from __future__ import annotations

import importlib
import logging
import threading
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from salesnav import clock
from salesnav.models import JobRun
from salesnav.models import session as db

log = logging.getLogger(__name__)

# A run whose process stopped renewing it for this long is taken over.
LEASE = timedelta(seconds=45)
HEARTBEAT_SECONDS = 10.0
# Runs from before leases existed: "running" this long belongs to a crashed worker.
STALE_AFTER = timedelta(minutes=15)


class _Leases:
    """The keys this process is running now, renewed by one daemon thread."""

    def __init__(self) -> None:
        self._held: dict[str, int] = {}  # key -> attempts (the claim that holds it)
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def hold(self, key: str, attempts: int) -> None:
        with self._lock:
            self._held[key] = attempts
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._loop, name="salesnav-job-leases", daemon=True)
                self._thread.start()

    def release(self, key: str) -> None:
        with self._lock:
            self._held.pop(key, None)

    def held(self) -> dict[str, int]:
        with self._lock:
            return dict(self._held)

    def renew(self) -> None:
        held = self.held()
        if not held:
            return
        until = clock.now() + LEASE
        with db.transaction() as session:
            for key, attempts in held.items():
                session.execute(
                    update(JobRun)
                    .where(JobRun.key == key, JobRun.status == "running", JobRun.attempts == attempts)
                    .values(lease_expires_at=until)
                )

    def _loop(self) -> None:
        stop = threading.Event()
        while not stop.wait(HEARTBEAT_SECONDS):
            try:
                if db.get_engine().dialect.name == "sqlite":
                    # The embedded default: one process, whose jobs the sweep sees are its own (is_pending); and a
                    # write here between a job's read and its write would fail that job's SQLite transaction.
                    continue
                self.renew()
            except Exception:  # the database may be away a moment; the next beat tries again
                log.warning("renewing job leases failed", exc_info=True)


LEASES = _Leases()


def run_job(path: str, args: list[Any], key: str | None = None, queue: str | None = None) -> Any:
    module, _, name = path.partition(":")
    func = getattr(importlib.import_module(module), name)
    if key is None:
        return func(*args)
    attempts = _claim(key, path, args, queue)
    if attempts is None:
        log.info("job %s with key %s already ran or runs elsewhere; skipped", path, key)
        return None
    LEASES.hold(key, attempts)
    try:
        result = func(*args)
    except Exception as exc:
        LEASES.release(key)
        _finish(key, attempts, "failed", repr(exc)[:2000])
        raise
    LEASES.release(key)
    _finish(key, attempts, "done", None)
    return result


def lease_expired(run: JobRun, now: datetime) -> bool:
    if run.status != "running":
        return False
    if run.lease_expires_at is not None:
        return run.lease_expires_at <= now
    return now - run.started_at >= STALE_AFTER


def _claim(key: str, path: str, args: list[Any], queue: str | None) -> int | None:
    """The attempt number this process now holds the key with, or None when it is not ours to run."""
    now = clock.now()
    try:
        with db.transaction() as session:
            session.add(
                JobRun(
                    key=key,
                    job=path,
                    args=args,
                    queue=queue,
                    status="running",
                    started_at=now,
                    lease_expires_at=now + LEASE,
                )
            )
        return 1
    except IntegrityError:
        pass
    # Someone has the key: take it over if it waits to be queued, failed, or its process died.
    with db.transaction() as session:
        run = session.scalars(select(JobRun).where(JobRun.key == key)).one()
        if run.status == "done" or (run.status == "running" and not lease_expired(run, now)):
            return None
        seen = run.attempts  # the UPDATE below refreshes `run` in the session
        claimed = session.execute(
            update(JobRun)
            .where(JobRun.key == key, JobRun.attempts == seen, JobRun.status == run.status)
            .values(
                status="running",
                attempts=seen + 1,
                started_at=now,
                lease_expires_at=now + LEASE,
                error=None,
                queue=queue or run.queue,
            )
        )
        # an UPDATE's result is a CursorResult, which has rowcount
        return seen + 1 if claimed.rowcount == 1 else None  # type: ignore[attr-defined]


def _finish(key: str, attempts: int, status: str, error: str | None) -> None:
    """Record the outcome unless another process took the run over meanwhile (ours was presumed dead)."""
    with db.transaction() as session:
        session.execute(
            update(JobRun)
            .where(JobRun.key == key, JobRun.attempts == attempts)
            .values(status=status, error=error, finished_at=clock.now(), lease_expires_at=None)
        )
