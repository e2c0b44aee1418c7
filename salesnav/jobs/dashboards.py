"""Keep the Level 1 figures fresh ahead of their readers (salesnav/handlers/dashboard_snapshots.py).

Every minute the clock runs `refresh_executive`: each window's snapshot that is past half its life
(setting dashboard.refresh_minutes) is recomputed, one window per transaction, so an executive opening
the page gets figures at most that old without waiting for them. Idempotent: a second run in the same
minute finds every snapshot young and does nothing. The pipeline forecast (salesnav/handlers/dashboards/forecast.py)
is kept fresh the same way.
"""

from __future__ import annotations

from datetime import datetime

from salesnav import clock
from salesnav.handlers.dashboards.executive import WINDOW_CHOICES, executive_snapshot, refresh_interval
from salesnav.handlers.dashboards.forecast import forecast_snapshot
from salesnav.models import session as db
from salesnav.settings import current_settings


def refresh_executive(fired_at: str | None = None) -> list[int]:
    """Recompute the Level 1 windows due for it; returns the windows (days) recomputed."""
    now = datetime.fromisoformat(fired_at) if fired_at else clock.now()
    tz = current_settings().business_tz
    recomputed = []
    for days in WINDOW_CHOICES:
        with db.transaction() as session:
            snapshot = executive_snapshot(session, now, tz, days, max_age=refresh_interval(session) / 2)
        if snapshot.computed_now:
            recomputed.append(days)
    with db.transaction() as session:  # Level 1's pipeline forecast (赢单预测), on the same schedule
        forecast_snapshot(session, now, tz, max_age=refresh_interval(session) / 2)
    return recomputed
