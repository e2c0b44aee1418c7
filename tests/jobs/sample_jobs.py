"""Module-level jobs for the queue tests (rq imports jobs by path, like production jobs)."""

from __future__ import annotations

import threading

from salesnav.models import Task
from salesnav.models import session as db


def record_run(user_id: int, label: str) -> None:
    """Leaves a visible trace of each run: one task per execution."""
    with db.transaction() as session:
        session.add(Task(assignee_id=user_id, title=label, origin="test"))


def fail_once_then_record(user_id: int, label: str) -> None:
    with db.transaction() as session:
        failures = session.query(Task).filter(Task.title == f"{label}:failed").count()
        if failures == 0:
            session.add(Task(assignee_id=user_id, title=f"{label}:failed", origin="test"))
    if failures == 0:
        raise RuntimeError("first attempt fails")
    record_run(user_id, label)


def noop_tick(fired_at: str) -> None:
    """A periodic job whose only trace is its JobRun row (one per clock slot)."""


RELEASED = threading.Event()  # set by the test: the slow job may finish
REACHED = threading.Event()  # set by the quick job when it runs


def wait_until_released() -> None:
    """A slow job (an import, a battle pack) that runs until the test lets it finish."""
    RELEASED.wait(timeout=30)


def mark_reached() -> None:
    REACHED.set()


def record_then_queue(user_id: int, label: str) -> None:
    """A job that queues another job after its own commit, as a chat touchpoint queues its rule events."""
    from salesnav.jobs.queue import enqueue_after_commit

    with db.transaction() as session:
        session.add(Task(assignee_id=user_id, title=label, origin="test"))
        enqueue_after_commit(session, record_run, user_id, f"{label}:nested", key=f"nested:{label}", queue="rules")


def record_pid(user_id: int) -> None:
    """Leaves the process id it ran in."""
    import os

    record_run(user_id, f"pid:{os.getpid()}")


CLIP_SAW_OTHER_JOB: list[bool] = []


def wait_for_a_clip() -> None:
    """A media job whose clip is in the pool until another job has run (the pool's wait, simulated)."""
    from salesnav import media_pool

    with media_pool.while_waiting():
        CLIP_SAW_OTHER_JOB.append(REACHED.wait(timeout=5))
