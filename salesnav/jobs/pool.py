"""The public pool's scan and the visit briefs: periodic jobs of the clock.

`pool.scan` (every 5 minutes) warns, cancels and returns (handlers/pool.py); `brief.send_due` (every minute)
sends the briefs whose lead time has come and the newest talk tracks (handlers/visit_brief.py). Both are
idempotent: a pending warning, a brief and a talk-track delivery are each a unique row, and the outbox keys
say nothing twice.
"""

from __future__ import annotations

import logging

from salesnav import clock
from salesnav.handlers import pool, visit_brief
from salesnav.models import session as db

log = logging.getLogger(__name__)


def scan(fired_at: str | None = None) -> dict[str, int]:
    with db.transaction() as session:
        result = pool.scan(session, clock.now())
    return {"warned": result.warned, "cancelled": result.cancelled, "returned": result.returned}


def send_briefs(fired_at: str | None = None) -> dict[str, int]:
    now = clock.now()
    with db.transaction() as session:
        briefs = visit_brief.send_due(session, now)
    with db.transaction() as session:
        tracks = visit_brief.deliver_talk_tracks(session, now)
    return {"briefs": briefs, "talk_tracks": tracks}
