"""雷达: a view whose page went silent (the phone went dark before it could say so) gets its read summary."""

from __future__ import annotations

from datetime import datetime

from salesnav import clock
from salesnav.handlers.radar import close_idle_views
from salesnav.models import session as db


def close_idle(fired_at: str | None = None) -> int:
    """Report the reading of views silent for IDLE_SECONDS (every 30 s from the clock); returns how many."""
    now = datetime.fromisoformat(fired_at) if fired_at else clock.now()
    with db.transaction() as session:
        return close_idle_views(session, now)
