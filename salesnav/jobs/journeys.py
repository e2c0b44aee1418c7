"""The journeys' jobs: the reaction to a customer event, and the clock's advance of the steps that are due.

- `on_customer_event(event_id)`: queued after an event's commit when some active journey hears its kind
  (handlers/customer_events.py `schedule_journeys`); enters, settles conditions, exits — idempotent
  (handlers/journeys/runner.py says what makes a re-run harmless).
- `advance_due(fired_at)`: a periodic job of the clock (every 5 s): the runs whose wake_at has come, read on
  their index in batches, each in its own unit of work — a failure costs that run only, and it is due again
  at the next tick (its wake_at comes back with the rollback).
"""

from __future__ import annotations

import logging
import time
from collections import Counter

from sqlalchemy import select

from salesnav import clock
from salesnav.handlers.journeys import runner
from salesnav.models import CustomerEvent
from salesnav.models import session as db

log = logging.getLogger(__name__)

MAX_SECONDS = 50.0  # one advance stops taking new batches after this; the next tick goes on


def on_customer_event(event_id: int) -> dict[str, int]:
    """The journeys' reaction to one recorded customer event."""
    with db.transaction() as session:
        event = session.get(CustomerEvent, event_id)
        if event is None:
            return {}
        reaction = runner.on_event(session, event, clock.now())
    return {
        "entered": len(reaction.entered),
        "refused": len(reaction.refused),
        "exited": len(reaction.exited),
        "settled": len(reaction.settled),
    }


def on_customer_events(event_ids: list[int]) -> dict[str, int]:
    """The journeys' reaction to a batch of recorded events (a webhook batch), in one unit of work, in the order
    they were recorded; the batch's entries with a few statements for all (runner.on_events). Should the batch
    fail, each event is taken again in a unit of work of its own, so one bad event costs itself only (a re-run is
    harmless: handlers/journeys/runner.py)."""
    totals: Counter[str] = Counter()
    try:
        with db.transaction() as session:
            now = clock.now()
            events = list(
                session.scalars(select(CustomerEvent).where(CustomerEvent.id.in_(event_ids)).order_by(CustomerEvent.id))
            )
            runner.hold_for_batch(session, events)
            reaction = runner.on_events(session, events, now)  # the batch's entries decided together
            totals.update(
                entered=len(reaction.entered),
                refused=len(reaction.refused),
                exited=len(reaction.exited),
                settled=len(reaction.settled),
            )
    except Exception:
        log.warning("journeys' batch of %s events failed; taking them one by one", len(event_ids), exc_info=True)
        totals.clear()
        failed: list[int] = []
        for event_id in sorted(event_ids):
            try:
                totals.update(on_customer_event(event_id))
            except Exception:
                log.exception("journeys' reaction to customer event %s failed", event_id)
                failed.append(event_id)
        if failed:  # recorded as failed, as one event's job would be; the others' work stays done
            raise RuntimeError(f"the journeys' reaction to customer events {failed} failed") from None
    return {key: totals[key] for key in ("entered", "refused", "exited", "settled")}


def advance_due(fired_at: str | None = None) -> dict[str, int]:
    """Act on every step run due now; answers what was done, by outcome."""
    now = clock.now()
    done: Counter[str] = Counter()
    started = time.monotonic()
    while time.monotonic() - started < MAX_SECONDS:
        with db.transaction() as session:
            due = runner.due_run_ids(session, now)
        for run_id in due:
            try:
                with db.transaction() as session:
                    outcome = runner.advance(session, run_id, now)
            except Exception:
                log.exception("journey step run %s failed", run_id)
                outcome = "failed"
            if outcome:
                done[outcome] += 1
        if len(due) < runner.BATCH:
            break
    return dict(done)
