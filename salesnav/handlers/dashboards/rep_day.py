"""Level 3 (销售): today's battle pack (今日作战包) and the rep's own week (figures and battle map).

The pack comes from salesnav.handlers.battle_pack (the same one the 10:00 WeCom message carries). If it
cannot be composed (an error, logged), the page falls back to the rep's most urgent open work — open tasks by
due time and the next actions they promised customers — and says so (`pack_source`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from salesnav import metrics
from salesnav.handlers.battle_pack import BattlePack, battle_pack_for
from salesnav.handlers.dashboards.battle_map import BattleMap, rep_battle_map
from salesnav.metrics import Duration, Ratio, Scope, Window
from salesnav.models import Customer, Task, TaskStatus, Touchpoint, User

log = logging.getLogger(__name__)
FALLBACK_ITEMS = 3
EFFECTIVE_TARGET_PER_WEEK = 6.5


@dataclass(frozen=True)
class TodoItem:
    title: str
    customer: str | None
    due_at: datetime | None
    kind: str  # task, next_action, todo, lead, material (from the pack)
    detail: str | None = None


@dataclass(frozen=True)
class RepWeek:
    week_start: datetime
    week_end: datetime
    effective_touchpoints: float  # this week so far
    effective_target: float
    touchpoints: int
    quality: Ratio
    compliance: Ratio
    entry_time: Duration


@dataclass(frozen=True)
class RepDay:
    rep_id: int
    rep_name: str
    day: date
    pack_source: str  # battle_pack, or fallback
    pack: BattlePack | None  # None when it could not be composed (then `todos` is the fallback)
    todos: list[TodoItem]
    week: RepWeek
    battle_map: BattleMap


def rep_day(session: Session, rep: User, now: datetime, tz: ZoneInfo) -> RepDay:
    today = now.astimezone(tz).date()
    pack, todos = _from_battle_pack(session, rep, now, tz)
    source = "battle_pack" if pack is not None else "fallback"
    if pack is None:
        todos = _fallback_todos(session, rep, now)
    return RepDay(
        rep.id,
        rep.name,
        today,
        source,
        pack,
        todos,
        rep_week(session, rep, today, tz),
        rep_battle_map(session, rep, today, now, tz),
    )


def rep_week(session: Session, rep: User, day: date, tz: ZoneInfo) -> RepWeek:
    week, scope = Window.week_of(day, tz), Scope.rep(rep)
    effective = metrics.effective_touchpoints_per_rep_week(session, week, scope)
    visits = metrics.visits_per_rep_month(session, week, scope)
    return RepWeek(
        week.start,
        week.end,
        effective.numerator,
        EFFECTIVE_TARGET_PER_WEEK,
        round(visits.numerator),
        metrics.touchpoint_quality(session, week, scope),
        metrics.process_compliance(session, week, scope),
        metrics.entry_time_per_record(session, week, scope),
    )


def _from_battle_pack(
    session: Session, rep: User, now: datetime, tz: ZoneInfo
) -> tuple[BattlePack | None, list[TodoItem]]:
    try:
        pack = battle_pack_for(session, rep, now, tz)
    except Exception:  # the pack is one part of this page; its failure must not take the rest down
        log.exception("battle pack could not be composed for rep %s", rep.id)
        return None, []
    todos = [
        TodoItem(
            t.action, t.who or None, t.deadline, "todo", f"优先级得分 {t.score:.1f}（金额×阶段概率×紧迫度×客户健康度）"
        )
        for t in pack.todos
    ]
    return pack, todos


def _fallback_todos(session: Session, rep: User, now: datetime) -> list[TodoItem]:
    tasks = session.scalars(
        select(Task)
        .where(Task.assignee_id == rep.id, Task.status == TaskStatus.OPEN)
        .order_by(Task.due_at.is_(None), Task.due_at, Task.id)
        .limit(FALLBACK_ITEMS)
    ).all()
    items = [TodoItem(t.title, None, t.due_at, "task", t.detail) for t in tasks]
    if len(items) < FALLBACK_ITEMS:
        promised = session.execute(
            select(Touchpoint.next_action, Touchpoint.next_action_due, Customer.name)
            .join(Customer, Customer.id == Touchpoint.customer_id)
            .where(
                Touchpoint.rep_id == rep.id,
                Touchpoint.deleted_at.is_(None),
                Touchpoint.next_action.is_not(None),
                Touchpoint.next_action_due >= now,
            )
            .order_by(Touchpoint.next_action_due)
            .limit(FALLBACK_ITEMS - len(items))
        ).all()
        items += [TodoItem(action or "", customer, due, "next_action") for action, due, customer in promised]
    return items
