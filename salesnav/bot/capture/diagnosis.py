"""客户健康度诊断 from the chat: `诊断 协和医院`, or a card's 客户诊断 button ("diag:cust:<id>").

A rep finds only their own customers by name (capture/lookup.find_customer); a manager or director
searches the customers they may see. The diagnosis itself is salesnav/handlers/diagnosis.py.
"""

from __future__ import annotations

from rapidfuzz import fuzz, process
from sqlalchemy import select

from salesnav.bot.capture.lookup import CLEAR_LEAD, MATCH_THRESHOLD, find_customer
from salesnav.bot.router import Incoming, router
from salesnav.handlers.access import owned_by_visible
from salesnav.handlers.diagnosis import describe, diagnose
from salesnav.handlers.errors import DomainError
from salesnav.models import Customer, Role, User

WORDS = ("诊断", "健康诊断", "客户诊断")


def claim(incoming: Incoming) -> bool:
    """Whether this text asks for a diagnosis (then answered here)."""
    if incoming.message.msg_type != "text" or incoming.user is None:
        return False
    words = (incoming.message.get("Content") or "").strip().split(maxsplit=1)
    if not words or words[0] not in WORDS:
        return False
    if len(words) < 2:
        incoming.reply_text("请写上客户名称，例如：诊断 协和医院")
        return True
    customer = _find(incoming, incoming.user, words[1])
    incoming.reply_text(describe(diagnose(incoming.session, incoming.user, customer.id, channel="chat")))
    return True


@router.card_button("diag")
def on_button(incoming: Incoming) -> None:
    _prefix, what, *rest = [*(incoming.message.event_key or "").split(":"), "", ""]
    assert incoming.user is not None
    if what != "cust" or not rest[0].isdigit():
        incoming.reply_text("这个按钮已失效，请发「诊断 客户名」。")
        return
    incoming.reply_text(describe(diagnose(incoming.session, incoming.user, int(rest[0]), channel="chat")))


def _find(incoming: Incoming, user: User, query: str) -> Customer:
    if user.role is Role.REP:
        return find_customer(incoming.session, user, query)
    query = query.strip()
    visible = {
        c.id: c
        for c in incoming.session.scalars(
            select(Customer).where(
                Customer.deleted_at.is_(None), owned_by_visible(incoming.session, user, Customer.owner_id)
            )
        )
    }
    exact = [c for c in visible.values() if c.name == query]
    if len(exact) == 1:
        return exact[0]
    names = {cid: c.name for cid, c in visible.items()}
    matches = process.extract(query, names, scorer=fuzz.WRatio, limit=5, score_cutoff=MATCH_THRESHOLD)
    if not matches:
        raise DomainError(f"没有找到客户「{query}」，或该客户不在您的查看范围内。")
    if len(matches) == 1 or matches[0][1] - matches[1][1] >= CLEAR_LEAD:
        return visible[matches[0][2]]
    raise DomainError(f"「{query}」对应多个客户：{'、'.join(m[0] for m in matches)}。请写得更完整一些。")
