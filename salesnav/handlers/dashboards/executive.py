"""Level 1 (高管层): the Sales Health Index with its parts and weekly trend, the article's verification
metrics against their baselines and targets, and the lead funnel — all from salesnav.metrics."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from salesnav import metrics
from salesnav.handlers import rule_settings
from salesnav.handlers.dashboard_snapshots import Snapshot
from salesnav.metrics import Funnel, HealthIndex, Ratio, Scope, VerificationMetric, Window, aggregates
from salesnav.metrics.days import midnight
from salesnav.metrics.index import health_weights, sales_health_index_of, verification_metrics_of
from salesnav.metrics.sql import without_jit

TREND_WEEKS = 8
WINDOW_CHOICES = (7, 30, 90)
DEFAULT_WINDOW_DAYS = 30


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
    as_of: datetime  # changes to past days committed before this are counted; today is counted live


def level1_window(now: datetime, tz: ZoneInfo, days: int) -> Window:
    """近 N 天: the `days` local days ending with today, today up to `now` (whole days before it: those come from
    the maintained aggregates, today so far from the records)."""
    today = now.astimezone(tz).date()
    return Window(midnight(today - timedelta(days=days - 1), tz), now)


def executive_figures(
    session: Session, now: datetime, tz: ZoneInfo, days: int = DEFAULT_WINDOW_DAYS
) -> ExecutiveFigures:
    """The company's Level 1 figures over the `days` local days up to `now`, and the index of the last complete
    weeks: the index, its parts, the trend and the verification metrics from the maintained aggregates
    (salesnav/metrics/aggregates.py, at most a refresh interval behind for past days, today live), or from
    the records while the aggregates are not built."""
    without_jit(session)
    scope = Scope.company(session)
    window = level1_window(now, tz, days)
    weeks = trend_weeks(now, tz)
    sums = aggregates.sums_by_window(session, [window, *weeks], scope, tz)
    if sums is None:
        as_of = now
        health, *trend = metrics.sales_health_index_by_window(session, [window, *weeks], scope)
        verification = metrics.verification_metrics(session, window, scope)
        visits = metrics.visits_per_rep_month(session, window, scope)
        funnel, win_rate = metrics.conversion_funnel(session, window, scope), metrics.win_rate(session, window, scope)
    else:
        state = aggregates.state(session)
        as_of = min(now, state.refreshed_at) if state else now
        weights = health_weights(session)
        health, *trend = (sales_health_index_of(weights, s) for s in sums)
        kept = _from_records(session, window, scope, now, as_of, tz)
        verification = verification_metrics_of(window, scope, sums[0], kept.deviation)
        visits = aggregates.visits_per_rep_month(sums[0], window, scope)
        funnel, win_rate = kept.funnel, kept.win_rate
    return ExecutiveFigures(
        window_start=window.start,
        window_end=window.end,
        window_days=days,
        reps=scope.rep_count,
        health=health,
        trend=[_point(week, index, tz) for week, index in zip(weeks, trend, strict=True)],
        verification=verification,
        funnel=funnel,
        lead_to_opportunity=funnel.lead_to_opportunity,
        opportunity_to_won=funnel.opportunity_to_won,
        win_rate=win_rate,
        visits_per_rep_month=visits,
        as_of=as_of,
    )


@dataclass(frozen=True)
class _FromRecords:
    """The Level 1 figures still read from the records (bounded by the window: a year of closed deals for the
    stage baseline, the window's first touches, its closed deals)."""

    deviation: Ratio
    funnel: Funnel
    win_rate: Ratio


RECORD_PARTS_SECONDS = 30  # as long as the aggregates' own refresh interval
_record_parts: dict[tuple[object, ...], tuple[datetime, _FromRecords]] = {}


def forget_kept() -> None:
    """Drop the kept record-read parts (the tests' clean slate; a restore of the database)."""
    _record_parts.clear()


def _from_records(
    session: Session, window: Window, scope: Scope, now: datetime, as_of: datetime, tz: ZoneInfo
) -> _FromRecords:
    """The stage deviation, funnel and win rate, computed at most once per refresh of the aggregates and
    RECORD_PARTS_SECONDS per process (the figures are then as old as the aggregates', under a minute): the
    deviation's baseline from the kept days of closing, the funnel over the window's new customers (their
    kept first touches), the window's closed deals from an index — each as costly at ten years as at one."""
    key = (str(session.get_bind().engine.url), window.start, scope.kind, scope.rep_ids, as_of)
    kept = _record_parts.get(key)
    if kept is not None and timedelta(0) <= now - kept[0] < timedelta(seconds=RECORD_PARTS_SECONDS):
        return kept[1]
    parts = _FromRecords(
        aggregates.stage_deviation_of(session, window, scope, tz)
        or metrics.stage_advancement_deviation(session, window, scope),
        aggregates.conversion_funnel_of(session, window, scope, tz)
        or metrics.conversion_funnel(session, window, scope),
        metrics.win_rate(session, window, scope),
    )
    if len(_record_parts) > 64:
        _record_parts.clear()
    _record_parts[key] = (now, parts)
    return parts


def executive_snapshot(
    session: Session, now: datetime, tz: ZoneInfo, days: int = DEFAULT_WINDOW_DAYS
) -> Snapshot[ExecutiveFigures]:
    """The Level 1 figures as a page and the API serve them: computed for each reader from the maintained
    aggregates (no kept copy: a few hundred milliseconds at ten million touchpoints, figures at most a
    refresh behind). `as_of` is when the aggregates last folded in the changes."""
    started = time.perf_counter()
    figures = executive_figures(session, now, tz, days)
    compute_ms = round((time.perf_counter() - started) * 1000)
    return Snapshot(figures, figures.as_of, compute_ms, True)


def refresh_interval(session: Session) -> timedelta:
    """How long the pipeline forecast (赢单预测) is kept (setting dashboard.refresh_minutes)."""
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
