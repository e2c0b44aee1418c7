"""How the rules count hours: on the calendar by default; with rules.working_days_only, weekends and
statutory holidays do not count and adjusted working days (调休) do. Expected instants worked out by hand
from the 2026 calendar: Spring Festival off 02-15..02-23, with Saturdays 02-14 and 02-28 worked."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from salesnav.handlers.working_time import RuleTime

TZ = ZoneInfo("Asia/Shanghai")
WORKING = RuleTime(True, TZ)
CALENDAR = RuleTime(False, TZ)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=TZ)


@pytest.mark.parametrize(
    ("start", "hours", "due"),
    [
        ("2026-03-06 10:00", 72, "2026-03-11 10:00"),  # Fri → Wed: the weekend does not count
        ("2026-03-04 10:00", 24, "2026-03-05 10:00"),  # Wed → Thu: a working week is the calendar
        ("2026-03-06 23:00", 1, "2026-03-09 00:00"),  # the last hour of Friday, then Monday begins
        ("2026-02-13 10:00", 24, "2026-02-14 10:00"),  # Fri → Sat 02-14, a worked Saturday (调休)
        ("2026-02-14 10:00", 24, "2026-02-24 10:00"),  # Sat 02-14 → after the Spring Festival
        ("2026-03-07 15:00", 24, "2026-03-10 00:00"),  # started on a Sunday: the clock starts Monday 00:00
    ],
)
def test_deadlines_skip_weekends_and_holidays(start: str, hours: int, due: str) -> None:
    assert WORKING.after(at(start), hours) == at(due)


@pytest.mark.parametrize(
    ("end", "hours", "cutoff"),
    [
        ("2026-03-11 10:00", 72, "2026-03-06 10:00"),
        ("2026-03-09 10:00", 72, "2026-03-04 10:00"),  # Monday: back over the weekend to Wednesday
        ("2026-03-09 00:00", 1, "2026-03-06 23:00"),  # exactly at midnight
        ("2026-02-24 10:00", 24, "2026-02-14 10:00"),
        # Monday alone holds the 24 h, but a follow-up on Sunday is only 24 h old too: the cutoff is Saturday 00:00.
        ("2026-03-10 00:00", 24, "2026-03-07 00:00"),
    ],
)
def test_a_cutoff_is_the_instant_the_counted_hours_began(end: str, hours: int, cutoff: str) -> None:
    assert WORKING.before(at(end), hours) == at(cutoff)


def test_elapsed_counts_only_working_days() -> None:
    assert WORKING.elapsed(at("2026-03-06 10:00"), at("2026-03-09 10:00")) == timedelta(hours=24)
    assert WORKING.elapsed(at("2026-03-07 10:00"), at("2026-03-08 10:00")) == timedelta(0)  # all weekend
    assert WORKING.elapsed(at("2026-03-09 10:00"), at("2026-03-06 10:00")) == timedelta(0)  # backwards


def test_on_the_calendar_every_hour_counts() -> None:
    assert CALENDAR.after(at("2026-03-06 10:00"), 72) == at("2026-03-09 10:00")
    assert CALENDAR.before(at("2026-03-09 10:00"), 72) == at("2026-03-06 10:00")
    assert CALENDAR.elapsed(at("2026-03-06 10:00"), at("2026-03-09 10:00")) == timedelta(hours=72)
