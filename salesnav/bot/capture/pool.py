"""公海 from the chat: the list, a rep's claim, a manager's assignment (salesnav/handlers/pool.py).

公海                 → the customers in the pool (newest first), each with its number
公海 人民医院         → those whose name contains the words
领取 12              → claim number 12 (the limits, the cool-down and the rate apply)
分配 12 给 周销售     → a manager hands number 12 to a rep of the team
"""

from __future__ import annotations

import re

from salesnav.bot.router import Incoming
from salesnav.handlers import pool
from salesnav.handlers.errors import DomainError
from salesnav.handlers.rules.texts import local_time
from salesnav.models import Role

LIST_WORDS = ("公海", "公海客户")
CLAIM_WORDS = ("领取", "领")
SHOWN = 20
_ASSIGN = re.compile(r"^分配\s*(\S+)\s*给\s*(\S+)$")
_NUMBER = re.compile(r"^#?(\d{1,12})$")


def claim(incoming: Incoming) -> bool:
    """Whether this text is a pool command (then answered here)."""
    if incoming.message.msg_type != "text" or incoming.user is None:
        return False
    content = (incoming.message.get("Content") or "").strip()
    words = content.split(maxsplit=1)
    if not words:
        return False
    if words[0] in LIST_WORDS:
        incoming.reply_text(listing(incoming, words[1] if len(words) > 1 else None))
        return True
    if words[0] in CLAIM_WORDS and len(words) == 2:
        number = _number(words[1], "领取 12")
        entry = pool.claim(incoming.session, incoming.member, number)
        incoming.reply_text(f"已领取「{entry.customer.name}」，现在是您的客户，请尽快跟进。")
        return True
    if content.startswith("分配") and (match := _ASSIGN.match(content)):
        number = _number(match.group(1), "分配 12 给 周销售")
        rep = pool.find_rep(incoming.session, incoming.member, match.group(2))
        entry = pool.assign(incoming.session, incoming.member, number, rep)
        incoming.reply_text(f"已把「{entry.customer.name}」分配给{rep.name}，并已通知对方。")
        return True
    return False


def _number(text: str, example: str) -> int:
    match = _NUMBER.match(text.strip())
    if match is None:
        raise DomainError(f"请写公海列表中的编号，例如「{example}」")
    return int(match.group(1))


def listing(incoming: Incoming, query: str | None) -> str:
    user = incoming.member
    items = pool.list_pool(incoming.session, user, limit=SHOWN, query=query)
    if not items:
        return f"公海中没有名称含「{query}」的客户。" if query else "公海中暂时没有客户。"
    lines = [f"【公海】{'名称含「' + query + '」的' if query else ''}客户（最新的 {len(items)} 个）："]
    for item in items:
        where = "·".join(x for x in (item.grade, item.kind, item.region) if x)
        deals = f"，{item.open_deals} 个进行中商机" if item.open_deals else ""
        line = f"编号 {item.entry_id}｜{item.name}（{where}）{item.reason}，入公海 {item.days_in_pool} 天{deals}"
        if item.cooldown_until:
            line += f"；您是原负责人，{local_time(item.cooldown_until)} 后可领取"
        lines.append(line)
    lines.append("回复「领取 编号」领取，例如「领取 " + str(items[0].entry_id) + "」")
    if user.role in pool.ASSIGNERS:
        lines.append("分配给团队成员：「分配 编号 给 姓名」")
    if user.role is Role.REP or user.role is Role.MANAGER:
        lines.append("小程序「更多 → 公海客户」可查看、领取")
    return "\n".join(lines)
