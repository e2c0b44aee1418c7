"""客户健康度诊断 from the chat: `诊断 协和医院`, or a card's 客户诊断 button ("diag:cust:<id>").

The customer is found by name among those the user may see (handlers.customers.find_by_name: a rep
their own, a manager their team's). The diagnosis itself is salesnav/handlers/diagnosis.py.
"""

from __future__ import annotations

from salesnav.bot.router import Incoming, router
from salesnav.handlers.customers import find_by_name
from salesnav.handlers.diagnosis import describe, diagnose
from salesnav.handlers.tags import describe_customer

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
    customer = find_by_name(incoming.session, incoming.user, words[1])
    incoming.reply_text(_answer(incoming, customer.id))
    return True


def _answer(incoming: Incoming, customer_id: int) -> str:
    """The diagnosis, and the customer's tags and lifecycle stage under its first line."""
    assert incoming.user is not None
    head, _, rest = describe(diagnose(incoming.session, incoming.user, customer_id, channel="chat")).partition("\n")
    return f"{head}\n{describe_customer(incoming.session, customer_id)}\n{rest}"


@router.card_button("diag")
def on_button(incoming: Incoming) -> None:
    _prefix, what, *rest = [*(incoming.message.event_key or "").split(":"), "", ""]
    assert incoming.user is not None
    if what != "cust" or not rest[0].isdigit():
        incoming.reply_text("这个按钮已失效，请发「诊断 客户名」。")
        return
    incoming.reply_text(_answer(incoming, int(rest[0])))
