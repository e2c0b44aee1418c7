"""Which customer event kinds some journey hears (its trigger, a condition it waits on, an exit): the active journeys,
and the paused ones while customers are still in them.

Recording a customer event asks `listens(kind)` (salesnav/handlers/customer_events.py `journeys_listen`) before
queueing the journeys' job, so the many events no journey hears cost a set lookup. The set is read from the
active journeys at most every `TTL_SECONDS` per process (a journey switched on in another process is heard
within that time) and at once in the process that saved it (`forget`).
"""

from __future__ import annotations

import threading
import time

from sqlalchemy import exists, or_, select
from sqlalchemy.orm import Session

from salesnav.handlers.journeys.definition import DefinitionError, JourneyDefinition, parse_definition
from salesnav.models import EnrollmentState, Journey, JourneyEnrollment
from salesnav.models import session as db

TTL_SECONDS = 10.0

_lock = threading.Lock()
_kinds: frozenset[str] | None = None
_read_at = 0.0


def heard_kinds(session: Session | None = None) -> frozenset[str]:
    """The kinds the journeys hear now (read from `session`, or a session of its own)."""
    if session is None:
        with db.transaction() as own:
            return heard_kinds(own)
    kinds: set[str] = set()
    # A paused journey no longer enters anyone, but those in it still wait for its conditions and exits.
    in_progress = exists().where(
        JourneyEnrollment.journey_id == Journey.id, JourneyEnrollment.state == EnrollmentState.ACTIVE
    )
    for definition, active in session.execute(
        select(Journey.definition, Journey.active).where(
            Journey.deleted_at.is_(None), or_(Journey.active.is_(True), in_progress)
        )
    ):
        try:
            parsed = parse_definition(definition)
        except DefinitionError:
            continue  # a stored definition that no longer validates runs nothing (the page says why)
        kinds |= parsed.kinds_heard() if active else kinds_awaited(parsed)
    return frozenset(kinds)


def kinds_awaited(definition: JourneyDefinition) -> set[str]:
    """The kinds those already in the journey wait for: its conditions' events and its exits."""
    kinds = set(definition.exit.events)
    kinds.update(step.condition.event for step in definition.steps if step.condition is not None)
    return kinds


def listens(kind: str) -> bool:
    """Whether some active journey hears events of `kind` (cached for TTL_SECONDS)."""
    global _kinds, _read_at
    kinds, now = _kinds, time.monotonic()
    if kinds is None or now - _read_at > TTL_SECONDS:
        with _lock:
            if _kinds is None or now - _read_at > TTL_SECONDS:
                try:
                    _kinds = heard_kinds()
                except RuntimeError:  # no database configured in this process: nothing can be heard
                    return False
                _read_at = now
            kinds = _kinds
    return kind in kinds


def forget() -> None:
    """A journey changed in this process: read the kinds again at the next event."""
    global _kinds
    with _lock:
        _kinds = None
