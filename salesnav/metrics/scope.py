"""What a metric is computed over: a time window and a scope of reps."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from enum import Enum
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, Select, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from salesnav.models import Role, User


@dataclass(frozen=True)
class Window:
    """A half-open time range [start, end) in aware UTC: an event exactly at `end` belongs to the next window."""

    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        if self.start.tzinfo is None or self.end.tzinfo is None:
            raise ValueError("Window needs aware datetimes")
        if self.end < self.start:
            raise ValueError("Window ends before it starts")
        object.__setattr__(self, "start", self.start.astimezone(UTC))
        object.__setattr__(self, "end", self.end.astimezone(UTC))

    @classmethod
    def last_days(cls, days: int, now: datetime) -> Window:
        """The `days` days up to `now` (e.g. the last 30 days for a dashboard opened now)."""
        return cls(now - timedelta(days=days), now)

    @classmethod
    def week_of(cls, day: date, tz: ZoneInfo | str) -> Window:
        """The business week (Monday 00:00 to the next Monday 00:00, local time) that contains `day`."""
        monday = day - timedelta(days=day.weekday())
        return cls._local_days(monday, monday + timedelta(days=7), tz)

    @classmethod
    def month_of(cls, day: date, tz: ZoneInfo | str) -> Window:
        """The calendar month (local time) that contains `day`."""
        first = day.replace(day=1)
        following = (first + timedelta(days=32)).replace(day=1)
        return cls._local_days(first, following, tz)

    @classmethod
    def _local_days(cls, first: date, stop: date, tz: ZoneInfo | str) -> Window:
        zone = ZoneInfo(tz) if isinstance(tz, str) else tz
        return cls(datetime.combine(first, time(), zone), datetime.combine(stop, time(), zone))

    @property
    def days(self) -> float:
        return (self.end - self.start).total_seconds() / 86400

    def contains(
        self, column: InstrumentedAttribute[datetime] | InstrumentedAttribute[datetime | None] | ColumnElement[datetime]
    ) -> ColumnElement[bool]:
        return (column >= self.start) & (column < self.end)


class ScopeKind(str, Enum):
    COMPANY = "company"
    TEAM = "team"
    REP = "rep"


@dataclass(frozen=True)
class Scope:
    """A set of reps whose records a metric counts: the whole company, a manager's team, or one rep.

    Records follow the rep who owns them: touchpoints by `rep_id`; opportunities, stage transitions, ticket
    parts, alerts and incentive points by the opportunity's (or customer's) owner.
    """

    kind: ScopeKind
    rep_ids: frozenset[int] = field(default_factory=frozenset)

    @classmethod
    def company(cls, session: Session) -> Scope:
        """All active reps."""
        return cls(ScopeKind.COMPANY, frozenset(session.scalars(active_reps())))

    @classmethod
    def team(cls, session: Session, manager: User) -> Scope:
        """The active reps reporting to `manager`, directly or through a sub-manager."""
        members = team_ids(session, manager)
        return cls(ScopeKind.TEAM, frozenset(session.scalars(active_reps().where(User.id.in_(members)))))

    @classmethod
    def rep(cls, rep: User | int) -> Scope:
        """One rep (also a rep who has since left: their history stays theirs)."""
        return cls(ScopeKind.REP, frozenset({rep if isinstance(rep, int) else rep.id}))

    @property
    def rep_count(self) -> int:
        """The denominator of the per-rep metrics."""
        return len(self.rep_ids)

    def covers(
        self, rep_column: InstrumentedAttribute[int] | InstrumentedAttribute[int | None] | ColumnElement[int]
    ) -> ColumnElement[bool]:
        """SQL condition: the record's rep is in scope."""
        if self.kind is ScopeKind.COMPANY:
            # A subquery rather than thousands of bound ids: the planner joins it, and SQLite's
            # parameter limit never bites.
            return rep_column.in_(active_reps())
        return rep_column.in_(sorted(self.rep_ids))


def active_reps() -> Select[int]:
    """The ids of the active reps: who the company scope covers."""
    return select(User.id).where(User.role == Role.REP, User.active.is_(True), User.deleted_at.is_(None))


def team_ids(session: Session, manager: User) -> set[int]:
    """The manager and everyone reporting to them, directly or through a sub-manager."""
    ids, frontier = {manager.id}, [manager.id]
    while frontier:
        frontier = [
            uid for uid in session.scalars(select(User.id).where(User.manager_id.in_(frontier))) if uid not in ids
        ]
        ids.update(frontier)
    return ids
