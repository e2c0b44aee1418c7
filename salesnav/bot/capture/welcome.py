"""enter_agent: a short welcome, at most once a day per member (WeCom sends it on every visit)."""

from __future__ import annotations

from sqlalchemy import select

from salesnav import clock
from salesnav.bot import outbox
from salesnav.bot.router import Incoming, router
from salesnav.models import OutboundMessage
from salesnav.settings import current_settings

WELCOME = (
    "您好，{name}！我是销售导航仪。\n"
    "点菜单「记触点」两下即可记录客户沟通；发语音或文字补充纪要；"
    "「建商机」「我的待办」「今日作战包」都在菜单里。发送「帮助」查看文字命令。"
)


@router.event("enter_agent", needs_user=False)
def welcome(incoming: Incoming) -> None:
    if incoming.user is None:  # someone not (yet) in SalesNav just opened the app: no reply each visit
        incoming.note = "enter_agent from a member unknown to SalesNav"
        return
    today = clock.now().astimezone(current_settings().business_tz).date().isoformat()
    key = f"welcome:{incoming.user.wecom_userid}:{today}"
    if incoming.session.scalar(select(OutboundMessage.id).where(OutboundMessage.idempotency_key == key)):
        incoming.note = "already welcomed today"
        return
    outbox.queue_text(
        incoming.session, incoming.user.wecom_userid, WELCOME.format(name=incoming.user.name), idempotency_key=key
    )
