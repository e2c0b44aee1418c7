"""拜访简报 on demand from the chat: `简报 协和医院` — the brief the clock would send before the next visit, now
(salesnav/handlers/visit_brief.py). The customer is found by name among those the member may see."""

from __future__ import annotations

from salesnav.bot.router import Incoming
from salesnav.handlers.customers import find_by_name
from salesnav.handlers.visit_brief import brief_now, brief_text

WORDS = ("简报", "拜访简报")


def claim(incoming: Incoming) -> bool:
    """Whether this text asks for a brief (then answered here)."""
    if incoming.message.msg_type != "text" or incoming.user is None:
        return False
    words = (incoming.message.get("Content") or "").strip().split(maxsplit=1)
    if not words or words[0] not in WORDS:
        return False
    if len(words) < 2:
        incoming.reply_text("请写上客户名称，例如：简报 协和医院")
        return True
    customer = find_by_name(incoming.session, incoming.member, words[1])
    incoming.reply_text(brief_text(brief_now(incoming.session, incoming.member, customer.id)))
    return True
