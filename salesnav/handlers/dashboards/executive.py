"""Level 1 (高管层): the Sales Health Index with its parts and weekly trend, the article's verification
metrics against their baselines and targets, and the lead funnel — all from salesnav.metrics."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from salesnav import metrics
from salesnav.handlers import dashboard_snapshots, rule_settings
from salesnav.handlers.dashboard_snapshots import Snapshot
from salesnav.metrics import Funnel, HealthIndex, Ratio, Scope, VerificationMetric, Window
from salesnav.metrics.sql import without_jit

TREND_WEEKS = 8
WINDOW_CHOICES = (7, 30, 90)
DEFAULT_WINDOW_DAYS = 30
SNAPSHOT_PREFIX = "executive:"


@dataclass(frozen=True)
class WeekPoint:
    """The index of one business week (Monday to Monday, local time)."""

    week_start: date
    index: float | None
    quality: float | None
    compliance: float | None
    penetration: float | None


@dataclass(frozen=True)
class ExecutiveFigures:
    window_start: datetime
    window_end: datetime
    window_days: int
    reps: int
    health: HealthIndex
    trend: list[WeekPoint]
    verification: list[VerificationMetric]
    funnel: Funnel
    lead_to_opportunity: Ratio
    opportunity_to_won: Ratio
    win_rate: Ratio
    visits_per_rep_month: Ratio


def executive_figures(
    session: Session, now: datetime, tz: ZoneInfo, days: int = DEFAULT_WINDOW_DAYS
) -> ExecutiveFigures:
    """The company's Level 1 figures over the `days` up to `now`, and the index of the last complete weeks."""
    without_jit(session)
    scope = Scope.company(session)
    window = Window.last_days(days, now)
    weeks = trend_weeks(now, tz)
    # The window's index and the weekly trend's come from the same three grouped queries.
    health, *trend = metrics.sales_health_index_by_window(session, [window, *weeks], scope)
    funnel = metrics.conversion_funnel(session, window, scope)
    return ExecutiveFigures(
        window_start=window.start,
        window_end=window.end,
        window_days=days,
        reps=scope.rep_count,
        health=health,
        trend=[_point(week, index, tz) for week, index in zip(weeks, trend, strict=True)],
        verification=metrics.verification_metrics(session, window, scope),
        funnel=funnel,
        lead_to_opportunity=funnel.lead_to_opportunity,
        opportunity_to_won=funnel.opportunity_to_won,
        win_rate=metrics.win_rate(session, window, scope),
        visits_per_rep_month=metrics.visits_per_rep_month(session, window, scope),
    )


def executive_snapshot(
    session: Session, now: datetime, tz: ZoneInfo, days: int = DEFAULT_WINDOW_DAYS, *, max_age: timedelta | None = None
) -> Snapshot[ExecutiveFigures]:
    """The Level 1 figures as kept, if computed within `max_age` (setting dashboard.refresh_minutes), else
    computed now and kept. What the page and the API serve: at a million touchpoints computing them costs most
    of a second, so the clock keeps them fresh (salesnav/jobs/dashboards.py) and readers don't wait."""
    if max_age is None:
        max_age = refresh_interval(session)
    return dashboard_snapshots.cached(
        session,
        f"{SNAPSHOT_PREFIX}{days}",
        ExecutiveFigures,
        lambda at: executive_figures(session, at, tz, days),
        now,
        max_age,
    )


def refresh_interval(session: Session) -> timedelta:
    return timedelta(minutes=rule_settings.dashboard(session).refresh_minutes)


def trend_weeks(now: datetime, tz: ZoneInfo, weeks: int = TREND_WEEKS) -> list[Window]:
    """The last `weeks` complete business weeks, oldest first (the current, partial week is left out: a Monday
    morning would otherwise always look like a collapse)."""
    this_monday = Window.week_of(now.astimezone(tz).date(), tz).start
    return [
        Window.week_of((this_monday - timedelta(days=7 * back)).astimezone(tz).date(), tz)
        for back in range(weeks, 0, -1)
    ]


def health_trend(
    session: Session, scope: Scope, now: datetime, tz: ZoneInfo, weeks: int = TREND_WEEKS
) -> list[WeekPoint]:
    """The index of each of the last `weeks` complete business weeks, oldest first."""
    windows = trend_weeks(now, tz, weeks)
    indexes = metrics.sales_health_index_by_window(session, windows, scope)
    return [_point(week, index, tz) for week, index in zip(windows, indexes, strict=True)]


def _point(week: Window, index: HealthIndex, tz: ZoneInfo) -> WeekPoint:
    return WeekPoint(
        week.start.astimezone(tz).date(),
        index.value,
        index.quality.value,
        index.compliance.value,
        index.penetration.value,
    )
