"""add_external_contact: a rep added a customer on WeChat → customer + contact + a 微信 touchpoint.

The person's name and company come from externalcontact/get; if WeCom cannot tell us (not
reachable, no permission), the event's ExternalUserID alone still files the contact, so the
touchpoint is never lost and the details can be corrected later.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from salesnav import clock
from salesnav.bot.capture import drafts
from salesnav.bot.client import WeComError, get_client
from salesnav.bot.router import Incoming, router
from salesnav.handlers.external_contacts import ExternalContactCard, file_external_contact
from salesnav.models.messaging import DraftKind, DraftStep

log = logging.getLogger(__name__)


@router.event("change_external_contact", key="add_external_contact")
def added(incoming: Incoming) -> None:
    assert incoming.user is not None
    external_userid = incoming.message.get("ExternalUserID") or ""
    card = _lookup(external_userid)
    sent_at = datetime.fromtimestamp(incoming.message.create_time, UTC)
    filed = file_external_contact(incoming.session, incoming.user, card, occurred_at=min(sent_at, clock.now()))
    # Like a card's second tap: the rep's next message becomes this touchpoint's summary.
    drafts.close_waiting(incoming.session, incoming.user)
    window = drafts.window(incoming.session)
    drafts.open_draft(
        incoming.session,
        incoming.user,
        DraftKind.TOUCHPOINT,
        DraftStep.AWAITING_SUMMARY,
        customer_id=filed.customer.id,
        touchpoint_id=filed.touchpoint.id,
        expires_at=clock.now() + window,
    )
    new = "新建客户" if filed.customer_created else "已有客户"
    incoming.reply_text(
        f"已添加外部联系人「{filed.contact.name}」（{new}：{filed.customer.name}），并记录了一次微信触点。"
        f"{int(window.total_seconds() // 60)} 分钟内发一条文字，即作为这次沟通的纪要和下一步。"
    )


def _lookup(external_userid: str) -> ExternalContactCard:
    try:
        found = get_client().get("externalcontact/get", external_userid=external_userid)
    except WeComError as exc:
        # Details are a nicety; the relationship itself is what must be recorded.
        log.warning("externalcontact/get for %s failed: %s", external_userid, exc)
        return ExternalContactCard(external_userid=external_userid, name=external_userid)
    person = found.get("external_contact") or {}
    return ExternalContactCard(
        external_userid=external_userid,
        name=str(person.get("name") or external_userid),
        corp_name=str(person.get("corp_full_name") or person.get("corp_name") or ""),
        position=str(person.get("position") or ""),
    )
