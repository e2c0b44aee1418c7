"""When the reports go out: working days at the configured hours (rule settings `reports.*`), in business time."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from salesnav.handlers import rule_settings
from salesnav.handlers.workdays import is_working_day
from salesnav.metrics.scope import Window


@dataclass(frozen=True)
class ReportSettings:
    enabled: bool
    daily_hour: int
    team_daily_hour: int
    team_weekly_hour: int
    chase_hour: int
    chase_lookback_days: int
    add_window_minutes: int
    chinese_calendar: bool

    @classmethod
    def load(cls, session: Session) -> ReportSettings:
        reports = rule_settings.reports(session)
        return cls(
            enabled=reports.enabled,
            daily_hour=reports.daily_hour,
            team_daily_hour=reports.team_daily_hour,
            team_weekly_hour=reports.team_weekly_hour,
            chase_hour=reports.chase_hour,
            chase_lookback_days=reports.chase_lookback_days,
            add_window_minutes=reports.add_window_minutes,
            # The same working-day calendar as the battle pack's.
            chinese_calendar=rule_settings.battle_pack(session).chinese_calendar,
        )

    def working_day(self, day: date) -> bool:
        return is_working_day(day, chinese=self.chinese_calendar)


def at(day: date, hour: int, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=tz)


def day_window(day: date, tz: ZoneInfo) -> Window:
    """The business day [00:00, next 00:00) in local time."""
    return Window(at(day, 0, tz), at(day + timedelta(days=1), 0, tz))


def previous_week(day: date, tz: ZoneInfo) -> Window:
    """The business week (Monday to Monday) before the one containing `day`: what a Monday report covers."""
    return Window.week_of(day - timedelta(days=7), tz)
