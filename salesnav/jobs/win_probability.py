"""Retrain the win-probability model (salesnav/handlers/win_probability.py) on the company's closed deals.

The clock fires `retrain` every hour. It trains in the RETRAIN_HOUR (03:00) hour of business time, and in
any hour while no version exists yet, so a company that reaches the minimum history gets its first model
within the hour rather than the next night. Idempotent by version: the version is the business day and a
digest of the closed deals, so a second run on the same history (another clock, a retry) stores nothing.
"""

from __future__ import annotations

from datetime import datetime

from salesnav import clock
from salesnav.handlers import win_probability
from salesnav.models import session as db
from salesnav.settings import current_settings

RETRAIN_HOUR = 3


def retrain(fired_at: str | None = None) -> str | None:
    """Train when due; returns what was done (Chinese), or None when it was not the hour."""
    now = datetime.fromisoformat(fired_at) if fired_at else clock.now()
    local = now.astimezone(current_settings().business_tz)
    with db.transaction() as session:
        if local.hour != RETRAIN_HOUR and win_probability.latest_model(session) is not None:
            return None
        return win_probability.retrain(session, now, local.strftime("%Y%m%d")).describe()
