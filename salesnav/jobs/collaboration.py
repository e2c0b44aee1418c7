"""The reminder before a collaboration ticket part's deadline: a periodic job of the clock (every minute).

Each part is reminded once (handlers/ticket_notices.py: a guarded update of reminded_at, and outbox keys
per part and recipient), each in its own unit of work, so a failure costs that part only.
"""

from __future__ import annotations

import logging

from salesnav import clock
from salesnav.handlers import ticket_notices
from salesnav.models import session as db

log = logging.getLogger(__name__)


def remind_due(fired_at: str | None = None) -> int:
    """Remind the departments of the parts whose reminder time has come; returns how many parts."""
    now = clock.now()
    with db.transaction() as session:
        due = ticket_notices.parts_to_remind(session, now)
    reminded = 0
    for part_id in due:
        try:
            with db.transaction() as session:
                reminded += ticket_notices.remind(session, part_id, now)
        except Exception:
            log.exception("reminding of ticket part %s failed", part_id)
    return reminded
