"""The use case: the battle pack of one rep (on demand) or of many reps at once (the 10:00 job).

Channel-agnostic: returns typed `BattlePack`s; salesnav/bot/battle_pack_card.py renders them for WeCom.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from salesnav.handlers.battle_pack import snapshot
from salesnav.handlers.battle_pack.material import MaterialPick, pick_material
from salesnav.handlers.battle_pack.ranking import Todo, rank_todos
from salesnav.handlers.battle_pack.recommendation import LeadReview, WonReference, recommend_lead
from salesnav.handlers.battle_pack.snapshot import PackSettings, Snapshot
from salesnav.handlers.workdays import is_working_day
from salesnav.models import User


@dataclass(frozen=True)
class BattlePack:
    rep_id: int
    rep_userid: str
    rep_name: str
    day: date  # the business day it is for
    as_of: datetime  # UTC
    todos: list[Todo]
    lead: LeadReview | None
    material: MaterialPick | None

    @property
    def key(self) -> str:
        return snapshot.pack_key(self.rep_id, self.day)


def compose_packs(snap: Snapshot, day: date) -> list[BattlePack]:
    """One pack per rep of the snapshot; pure computation, no queries."""
    reference = WonReference(snap.won, snap.settings.min_similar_won)
    return [
        BattlePack(
            rep_id=rep.id,
            rep_userid=rep.userid,
            rep_name=rep.name,
            day=day,
            as_of=snap.now,
            todos=rank_todos(snap, rep.id),
            lead=recommend_lead(snap, rep.id, reference),
            material=pick_material(snap, rep.id, day),
        )
        for rep in snap.reps
    ]


def packs_for(
    session: Session,
    now: datetime,
    day: date,
    *,
    rep_ids: Iterable[int] | None = None,
    only_unsent: bool = False,
    settings: PackSettings | None = None,
) -> list[BattlePack]:
    """Packs for the given users (default: every active rep), optionally only those not yet queued for `day`."""
    scope = snapshot.rep_scope(rep_ids=rep_ids, without_pack_on=day if only_unsent else None)
    return compose_packs(snapshot.load(session, now, scope, settings), day)


def due_work_for(session: Session, user: User, now: datetime) -> list[Todo]:
    """All of a member's due work (我的待办), ranked as the pack ranks it: the pack's 3 todos come first."""
    snap = snapshot.load(session, now, snapshot.rep_scope(rep_ids=[user.id]))
    return rank_todos(snap, user.id, top=None)


def is_pack_time(session: Session, now: datetime, tz: ZoneInfo) -> bool:
    """Whether `now` is within a working day's pack hours: only then is a pack 「今日作战包」."""
    settings = PackSettings.load(session)
    day = now.astimezone(tz).date()
    due = due_on(day, settings, tz)
    return due.working_day and now < due.too_late_at


def battle_pack_for(session: Session, user: User, now: datetime, tz: ZoneInfo) -> BattlePack:
    """The current pack of one member (the 今日作战包 menu button), whatever the day and hour."""
    return packs_for(session, now, now.astimezone(tz).date(), rep_ids=[user.id])[0]


@dataclass(frozen=True)
class Due:
    day: date
    working_day: bool
    due_at: datetime  # the pack hour of `day`, aware
    too_late_at: datetime  # from this instant of `day` on, a pack not yet sent waits for the next working day

    def reached(self, now: datetime) -> bool:
        return self.working_day and self.due_at <= now < self.too_late_at


def due_on(day: date, settings: PackSettings, tz: ZoneInfo) -> Due:
    return Due(
        day,
        is_working_day(day, chinese=settings.chinese_calendar),
        datetime.combine(day, time(settings.hour), tzinfo=tz),
        datetime.combine(day, time(0), tzinfo=tz) + timedelta(hours=max(settings.last_hour, settings.hour + 1)),
    )
