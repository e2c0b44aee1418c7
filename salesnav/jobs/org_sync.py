"""The nightly org sync: departments and members from WeCom into our tables (salesnav/handlers/admin/org.py).

The clock fires `nightly` every hour; it syncs only in the 02:00 hour of business time, so the night
follows TZ_BUSINESS without the clock's schedule depending on settings. The hourly slot key makes it
once per night however many clocks tick.
"""

from __future__ import annotations

from salesnav import clock
from salesnav.handlers.admin.org import sync_directory
from salesnav.models import session as db
from salesnav.ports import directory
from salesnav.settings import current_settings

NIGHTLY_HOUR = 2


def nightly(fired_at: str | None = None) -> str | None:
    if clock.now().astimezone(current_settings().business_tz).hour != NIGHTLY_HOUR:
        return None
    return sync_now()


def sync_now() -> str:
    listed = directory.fetch()  # the directory first: no database connection held meanwhile
    with db.transaction() as session:
        return sync_directory(session, None, listed).describe()
