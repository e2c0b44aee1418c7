"""Business days: the grain of the maintained aggregates and of a touchpoint's decision-chain coverage.

A window splits into pieces, one per local day it touches (the deployment's time zone, settings
`business_tz`): a whole day, or the part of a day the window covers at either end. The metrics' sums over
a window are the sums over its pieces, which lets a whole day's sums come from the aggregates
(salesnav/metrics/aggregates.py) and a part of a day from the records, with one definition.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Integer, Subquery, literal, select, union_all

from salesnav.metrics.scope import Window
from salesnav.models.base import UTCDateTime
from salesnav.settings import current_settings


def business_tz() -> ZoneInfo:
    return current_settings().business_tz


def midnight(day: date, tz: ZoneInfo) -> datetime:
    """The UTC moment a local day starts."""
    return datetime.combine(day, time(), tz).astimezone(UTC)


def day_of(moment: datetime, tz: ZoneInfo) -> date:
    return moment.astimezone(tz).date()


@dataclass(frozen=True)
class Piece:
    """The part [start, end) of a window within one local day."""

    day: date
    start: datetime
    end: datetime
    day_start: datetime
    day_end: datetime

    @property
    def whole(self) -> bool:
        return self.start == self.day_start and self.end == self.day_end


def pieces(window: Window, tz: ZoneInfo) -> list[Piece]:
    """The window cut at local midnights, in order; an empty window has no pieces."""
    out: list[Piece] = []
    day = day_of(window.start, tz)
    while True:
        day_start, day_end = midnight(day, tz), midnight(day + timedelta(days=1), tz)
        start, end = max(window.start, day_start), min(window.end, day_end)
        if start >= window.end:
            return out
        if start < end:
            out.append(Piece(day, start, end, day_start, day_end))
        day += timedelta(days=1)


def day_window(day: date, tz: ZoneInfo) -> Window:
    return Window(midnight(day, tz), midnight(day + timedelta(days=1), tz))


def pieces_table(rows: Sequence[Piece], tz: ZoneInfo, lookback_days: int = 0) -> Subquery:
    """The pieces as a small table (idx, start, end, look_start, day_end): `look_start` is the local midnight
    `lookback_days` − 1 days before the piece's day (the quality lookback: that many local days ending with it).
    Rows of literal selects rather than VALUES: the same on PostgreSQL and SQLite."""
    moment = UTCDateTime()

    def row(k: int, p: Piece) -> Any:
        look = midnight(p.day - timedelta(days=max(lookback_days - 1, 0)), tz)
        return select(
            literal(k, Integer()).label("idx"),
            literal(p.start, moment).label("start"),
            literal(p.end, moment).label("end"),
            literal(look, moment).label("look_start"),
            literal(p.day_end, moment).label("day_end"),
        )

    return union_all(*(row(k, p) for k, p in enumerate(rows))).subquery("pieces")
