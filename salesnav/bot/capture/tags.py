"""Customer tags from the chat (salesnav/handlers/tags.py):

标签 常州妇幼 三甲 重点       → put the manual tags on (the customer by name among those the member may see)
去标签 常州妇幼 重点          → take a manual tag off
标签 常州妇幼                 → the customer's tags and lifecycle stage
"""

from __future__ import annotations

from salesnav.bot.router import Incoming
from salesnav.handlers import tags
from salesnav.handlers.customers import find_by_name

ADD_WORDS = ("标签", "加标签", "打标签")
REMOVE_WORDS = ("去标签", "删标签", "删除标签", "移除标签")
EXAMPLE = "标签 常州妇幼 重点客户"


def claim(incoming: Incoming) -> bool:
    """Whether this text is a tag command (then answered here)."""
    if incoming.message.msg_type != "text" or incoming.user is None:
        return False
    words = (incoming.message.get("Content") or "").replace("，", " ").replace("、", " ").split()
    if not words or words[0] not in ADD_WORDS + REMOVE_WORDS:
        return False
    removing = words[0] in REMOVE_WORDS
    if len(words) < 2 or (removing and len(words) < 3):
        incoming.reply_text(
            f"请写上客户名称和标签，例如：{EXAMPLE}" + ("" if removing else "；只写客户名称可查看其标签")
        )
        return True
    session, member = incoming.session, incoming.member
    customer = find_by_name(session, member, words[1])
    done: list[str] = []
    for text in words[2:]:
        if removing:
            if tags.remove_tag(session, member, customer_id=customer.id, tag=text):
                done.append(text)
        else:
            held, new = tags.apply_tag(session, member, customer_id=customer.id, tag=text)
            if new:
                done.append(held.label)
    now = tags.describe_customer(session, customer.id)
    if len(words) == 2:
        incoming.reply_text(f"{customer.name}\n{now}")
    elif removing:
        head = f"✅ {customer.name} 已去掉标签：{'、'.join(done)}" if done else f"{customer.name} 本来就没有这些标签"
        incoming.reply_text(f"{head}\n{now}")
    else:
        head = f"✅ {customer.name} 已加上标签：{'、'.join(done)}" if done else f"{customer.name} 已有这些标签"
        incoming.reply_text(f"{head}\n{now}")
    return True
