"""How the rules count hours: on the calendar (the default), or on working days only.

With the setting rules.working_days_only on, the hours of weekends and statutory holidays do not count
(chinese-calendar, with its adjusted working days; salesnav/handlers/workdays.py): a deal last followed up on
Friday 10:00 is 72 h overdue on Wednesday 10:00, not on Monday. A working day counts whole, midnight to
midnight in business time: reps answer customers in the evening too, and the article's thresholds are
day-sized (72 h = 3 working days, 48 h = 2, 24 h = 1).

The scans stay indexed range queries: `before(now, 72)` turns "72 working hours since the follow-up" into
the single instant the follow-up must precede, so the cost still follows the matches.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from salesnav.handlers import rule_settings
from salesnav.handlers.workdays import is_working_day
from salesnav.settings import current_settings

MAX_DAYS = 3660  # a walk never goes further than ten years


@dataclass(frozen=True)
class RuleTime:
    working_days_only: bool
    tz: ZoneInfo

    def before(self, end: datetime, hours: float) -> datetime:
        """The latest instant such that anything older is more than `hours` counted hours before `end`."""
        if not self.working_days_only:
            return end - timedelta(hours=hours)
        left, cursor = timedelta(hours=hours), end.astimezone(self.tz)
        day = cursor.date() if cursor.timetz().replace(tzinfo=None) != time() else cursor.date() - timedelta(1)
        for _ in range(MAX_DAYS):
            start = self._midnight(day)
            if is_working_day(day):
                available = cursor - start
                if available > left:  # strictly: an exact fit carries over the non-working days next to it
                    return cursor - left
                left -= available
            cursor, day = start, day - timedelta(1)
        return cursor

    def after(self, start: datetime, hours: float) -> datetime:
        """The deadline `hours` counted hours after `start`: the last instant at which no more than `hours` have
        passed (a deadline ending a Friday falls on Monday 00:00, not on Saturday)."""
        if not self.working_days_only:
            return start + timedelta(hours=hours)
        left, cursor = timedelta(hours=hours), start.astimezone(self.tz)
        day = cursor.date()
        for _ in range(MAX_DAYS):
            end = self._midnight(day + timedelta(1))
            if is_working_day(day):
                available = end - cursor
                if available > left:  # strictly: an exact fit carries over the non-working days next to it
                    return cursor + left
                left -= available
            cursor, day = end, day + timedelta(1)
        return cursor

    def elapsed(self, start: datetime, end: datetime) -> timedelta:
        """The counted time from `start` to `end` (zero when `end` is not after `start`)."""
        if end <= start:
            return timedelta(0)
        if not self.working_days_only:
            return end - start
        total, cursor, stop = timedelta(0), start.astimezone(self.tz), end.astimezone(self.tz)
        day = cursor.date()
        while cursor < stop:
            day_end = min(self._midnight(day + timedelta(1)), stop)
            if is_working_day(day):
                total += day_end - cursor
            cursor, day = day_end, day + timedelta(1)
        return total

    def _midnight(self, day: date) -> datetime:
        return datetime.combine(day, time(), tzinfo=self.tz)


def rule_time(session: Session) -> RuleTime:
    """How the rules count hours now (setting rules.working_days_only; business time zone TZ_BUSINESS)."""
    return RuleTime(rule_settings.rules(session).working_days_only, current_settings().business_tz)
