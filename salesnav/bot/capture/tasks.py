"""我的待办 (the rep's open tasks) and 今日作战包 on demand (salesnav/handlers/battle_pack/)."""

from __future__ import annotations

from salesnav import clock
from salesnav.bot import outbox
from salesnav.bot.battle_pack_card import render_markdown, todo_line
from salesnav.bot.router import Incoming, router
from salesnav.handlers.battle_pack import battle_pack_for
from salesnav.handlers.battle_pack.compose import due_work_for, is_pack_time
from salesnav.settings import current_settings

MY_TASKS_KEY = "MY_TASKS"
BATTLE_PACK_KEY = "BATTLE_PACK"
LISTED = 10


@router.event("click", key=MY_TASKS_KEY)
def my_tasks(incoming: Incoming) -> None:
    """我的待办: the same ranked list the battle pack takes its 3 todos from (tasks, next actions, silent deals)."""
    tz, now = current_settings().business_tz, clock.now()
    work = due_work_for(incoming.session, incoming.member, now)
    if not work:
        incoming.reply_text("您目前没有待办。")
        return
    lines = [f"{i}. {todo_line(t, now, tz, markdown=False)}" for i, t in enumerate(work[:LISTED], 1)]
    more = f"\n……另有 {len(work) - LISTED} 件" if len(work) > LISTED else ""
    head = f"您有 {len(work)} 件待办（按优先级排列，前 3 件即今日作战包所列）：\n"
    incoming.reply_text(head + "\n".join(lines) + more)


@router.event("click", key=BATTLE_PACK_KEY)
def battle_pack(incoming: Incoming) -> None:
    """The current battle pack on demand (the same use case as the 10:00 push, computed now)."""
    tz, now = current_settings().business_tz, clock.now()
    pack = battle_pack_for(incoming.session, incoming.member, now, tz)
    outbox.queue_markdown(
        incoming.session,
        incoming.message.actor_userid,
        render_markdown(pack, tz, on_demand=True, working_hours=is_pack_time(incoming.session, now, tz)),
        idempotency_key=f"inbound:{incoming.inbound.id}:battle_pack",
    )
