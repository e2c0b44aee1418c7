"""雷达 links from the chat: `雷达 协和医院 李主任 白皮书` answers with a tracked link to the material for that
customer and contact (the contact is optional), to forward to them; the rep is told when it is opened, read and
downloaded (salesnav/handlers/radar.py)."""

from __future__ import annotations

from salesnav.bot.router import Incoming
from salesnav.handlers.customers import find_by_name
from salesnav.handlers.radar import LINK_VALID_DAYS, contact_address, contact_named, find_material, share_link

WORDS = ("雷达", "雷达链接", "发资料")
EXAMPLE = "雷达 协和医院 李主任 白皮书"


def claim(incoming: Incoming) -> bool:
    """Whether this text asks for a 雷达 link (then answered here)."""
    if incoming.message.msg_type != "text" or incoming.user is None:
        return False
    words = (incoming.message.get("Content") or "").split()
    if not words or words[0] not in WORDS:
        return False
    if len(words) < 3:
        incoming.reply_text(
            f"请写上客户、（可选）联系人和资料名称，例如：{EXAMPLE}。对方打开、阅读和下载资料时，我会第一时间告诉您。"
        )
        return True
    customer = find_by_name(incoming.session, incoming.user, words[1])
    rest = words[2:]
    contact = contact_named(customer, rest[0])
    if contact is not None:
        rest = rest[1:]
    material = find_material(incoming.session, " ".join(rest))
    contact_id = contact.id if contact else None
    link = share_link(incoming.session, incoming.user, material.id, customer.id, contact_id=contact_id)
    whom = f"{contact_address(contact)}（{customer.name}）" if contact else customer.name
    incoming.reply_text(
        f"《{material.title}》发给{whom}的雷达链接（{LINK_VALID_DAYS} 天有效），转发给对方即可；"
        f"对方打开、阅读和下载时会通知您：\n{link.url}"
    )
    return True
