"""我的待办 (the rep's open tasks) and 今日作战包 on demand (salesnav/handlers/battle_pack/)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from salesnav import clock
from salesnav.bot.router import Incoming, router
from salesnav.models import Task, TaskStatus, User
from salesnav.settings import current_settings

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
    user = incoming.member
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
    """The current battle pack on demand (the same use case as the 10:00 push, computed now)."""
    from salesnav.bot import outbox
    from salesnav.bot.battle_pack_card import render_markdown
    from salesnav.handlers.battle_pack import battle_pack_for
    from salesnav.handlers.battle_pack.compose import is_pack_time

    tz, now = current_settings().business_tz, clock.now()
    pack = battle_pack_for(incoming.session, incoming.member, now, tz)
    outbox.queue_markdown(
        incoming.session,
        incoming.message.actor_userid,
        render_markdown(pack, tz, on_demand=True, working_hours=is_pack_time(incoming.session, now, tz)),
        idempotency_key=f"inbound:{incoming.inbound.id}:battle_pack",
    )


def _task_line(task: Task, now: datetime) -> str:
    if task.due_at is None:
        return task.title
    local = task.due_at.astimezone(current_settings().business_tz)
    flag = "，已逾期" if task.due_at < now else ""
    return f"{task.title}（截止 {local.month}月{local.day}日 {local:%H:%M}{flag}）"
