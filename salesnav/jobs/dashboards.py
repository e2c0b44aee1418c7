"""Keep the Level 1 figures current (salesnav/metrics/aggregates.py, salesnav/handlers/dashboards/forecast.py).

Every 30 seconds the clock runs `refresh_metric_aggregates`: the changes committed since the last run (marked
by triggers in the writers' own transactions) are folded into the per day × rep aggregates the Level 1 page
reads, so its figures are at most about a minute behind the records (today's are read live). The first run
after an upgrade, or after a change of time zone or metric settings, rebuilds them. Idempotent: a second run at
once finds nothing to fold in.

`refresh_executive` (every minute) keeps the pipeline forecast (赢单预测) fresh, the one Level 1 figure still
served from a kept snapshot (setting dashboard.refresh_minutes).
"""

from __future__ import annotations

from datetime import datetime

from salesnav import clock
from salesnav.handlers.dashboards.executive import refresh_interval
from salesnav.handlers.dashboards.forecast import forecast_snapshot
from salesnav.metrics import aggregates
from salesnav.models import session as db
from salesnav.settings import current_settings


def refresh_metric_aggregates(fired_at: str | None = None) -> int:
    """Fold the pending changes into the Level 1 aggregates; returns how many change markers were folded in."""
    now = datetime.fromisoformat(fired_at) if fired_at else clock.now()
    with db.transaction() as session:
        return aggregates.refresh(session, now, current_settings().business_tz)


def rebuild_metric_aggregates(fired_at: str | None = None) -> int:
    """Recompute every Level 1 aggregate cell from the records; returns the cells written."""
    now = datetime.fromisoformat(fired_at) if fired_at else clock.now()
    with db.transaction() as session:
        return aggregates.rebuild(session, now, current_settings().business_tz)


def refresh_executive(fired_at: str | None = None) -> bool:
    """Recompute the pipeline forecast if it is past half its life; returns whether it was recomputed."""
    now = datetime.fromisoformat(fired_at) if fired_at else clock.now()
    tz = current_settings().business_tz
    with db.transaction() as session:  # Level 1's pipeline forecast (赢单预测)
        return forecast_snapshot(session, now, tz, max_age=refresh_interval(session) / 2).computed_now
