"""我的待办 and a first, honest 今日作战包: the rep's open tasks and deals gone quiet.

The full battle pack (3 todos, 1 lead to review, 1 material, pushed at 10:00) is a later issue;
this reply says so rather than pretend.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select

from salesnav import clock
from salesnav.bot.client import current_settings
from salesnav.bot.router import Incoming, router
from salesnav.handlers import rule_settings
from salesnav.models import Opportunity, OpportunityStatus, Task, TaskStatus, User

MY_TASKS_KEY = "MY_TASKS"
BATTLE_PACK_KEY = "BATTLE_PACK"
LISTED = 10


def open_tasks(incoming: Incoming, user: User) -> list[Task]:
    return list(
        incoming.session.scalars(
            select(Task)
            .where(Task.assignee_id == user.id, Task.status == TaskStatus.OPEN)
            .order_by(Task.due_at.is_(None), Task.due_at, Task.id)
        )
    )


@router.event("click", key=MY_TASKS_KEY)
def my_tasks(incoming: Incoming) -> None:
    user = _user(incoming)
    tasks = open_tasks(incoming, user)
    if not tasks:
        incoming.reply_text("您目前没有待办。")
        return
    now = clock.now()
    lines = [f"{i}. {_task_line(t, now)}" for i, t in enumerate(tasks[:LISTED], 1)]
    more = f"\n……另有 {len(tasks) - LISTED} 条" if len(tasks) > LISTED else ""
    incoming.reply_text(f"您有 {len(tasks)} 条待办：\n" + "\n".join(lines) + more)


@router.event("click", key=BATTLE_PACK_KEY)
def battle_pack(incoming: Incoming) -> None:
    user = _user(incoming)
    now = clock.now()
    overdue_after = timedelta(hours=int(rule_settings.get(incoming.session, "follow_up.overdue_hours")))
    items: list[tuple[int, datetime, str]] = []  # (rank, when, line): overdue first, oldest first
    for task in open_tasks(incoming, user):
        rank = 0 if task.due_at and task.due_at < now else 2
        items.append((rank, task.due_at or now + timedelta(days=365), "待办：" + _task_line(task, now)))
    for opp in incoming.session.scalars(
        select(Opportunity).where(
            Opportunity.owner_id == user.id,
            Opportunity.status == OpportunityStatus.OPEN,
            Opportunity.deleted_at.is_(None),
            Opportunity.last_follow_up_at < now - overdue_after,
        )
    ):
        days = (now - opp.last_follow_up_at).days
        items.append((1, opp.last_follow_up_at, f"商机「{opp.title}」已 {days} 天未跟进"))
    items.sort(key=lambda item: (item[0], item[1]))
    if items:
        body = "\n".join(f"{i}. {line}" for i, (_r, _w, line) in enumerate(items[:3], 1))
        text = f"今日作战包（简版）· 最重要的 {min(3, len(items))} 件事：\n{body}"
    else:
        text = "今日作战包（简版）：没有逾期的待办或超时未跟进的商机，保持节奏！"
    incoming.reply_text(text + "\n\n完整作战包（推荐线索、可复用素材）将在后续版本提供。")


def _task_line(task: Task, now: datetime) -> str:
    if task.due_at is None:
        return task.title
    local = task.due_at.astimezone(current_settings().business_tz)
    flag = "，已逾期" if task.due_at < now else ""
    return f"{task.title}（截止 {local.month}月{local.day}日 {local:%H:%M}{flag}）"


def _user(incoming: Incoming) -> User:
    assert incoming.user is not None
    return incoming.user
