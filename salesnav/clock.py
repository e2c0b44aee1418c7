"""The one injectable clock. Code asks `clock.now()`; tests move time instead of sleeping."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class FrozenClock:
    """A clock that stands still until told to move (tests, benchmarks, demo seeding)."""

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("FrozenClock needs an aware datetime")
        self._now = start.astimezone(UTC)
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def advance(self, delta: timedelta) -> datetime:
        with self._lock:
            self._now += delta
            return self._now

    def set(self, moment: datetime) -> None:
        with self._lock:
            self._now = moment.astimezone(UTC)


class ShiftedClock:
    """The system clock moved to another day: it reads `start` when made and then runs at real speed, so what
    waits for time to pass (a live server, a job, a browser) still sees it pass. The test suite runs on a chosen
    day with it (tests/conftest.py, `--today`)."""

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("ShiftedClock needs an aware datetime")
        self._offset = start.astimezone(UTC) - datetime.now(UTC)

    def now(self) -> datetime:
        return datetime.now(UTC) + self._offset


_current: Clock = SystemClock()


def now() -> datetime:
    """The current time, aware, in UTC."""
    return _current.now()


def use(new_clock: Clock) -> Clock:
    """Install a clock; returns the previous one so callers can restore it."""
    global _current
    previous, _current = _current, new_clock
    return previous
