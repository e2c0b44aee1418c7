"""Which customer event kinds some active journey hears (its trigger, a condition it waits on, an exit).

Recording a customer event asks `listens(kind)` (salesnav/handlers/customer_events.py `journeys_listen`) before
queueing the journeys' job, so the many events no journey hears cost a set lookup. The set is read from the
active journeys at most every `TTL_SECONDS` per process (a journey switched on in another process is heard
within that time) and at once in the process that saved it (`forget`).
"""

from __future__ import annotations

import threading
import time

from sqlalchemy import select
from sqlalchemy.orm import Session

from salesnav.handlers.journeys.definition import DefinitionError, parse_definition
from salesnav.models import Journey
from salesnav.models import session as db

TTL_SECONDS = 10.0

_lock = threading.Lock()
_kinds: frozenset[str] | None = None
_read_at = 0.0


def heard_kinds(session: Session | None = None) -> frozenset[str]:
    """The kinds the active journeys hear (read now, from `session` or a session of its own)."""
    if session is None:
        with db.transaction() as own:
            return heard_kinds(own)
    kinds: set[str] = set()
    for definition in session.scalars(
        select(Journey.definition).where(Journey.active.is_(True), Journey.deleted_at.is_(None))
    ):
        try:
            kinds |= parse_definition(definition).kinds_heard()
        except DefinitionError:
            continue  # a stored definition that no longer validates runs nothing (the page says why)
    return frozenset(kinds)


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
