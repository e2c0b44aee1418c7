"""Completing a record from the daily 待补录 list (handlers/reports/chase.py), one tap each:

    补第N条 on a touchpoint (rpt:tp:<id>) → the touchpoint waits for a text or voice, as after 记触点: who was
        there and the next step, filled in by the same capture flow (bot/capture/text.py, voice_note.py)
    补第N条 on a deal (rpt:ev:<id>)       → the bot asks for each missing item of the deal's current stage in
        turn: words for a text item, 已完成 for a tick, a photo or file for a file item

The text route and the media routes call `claim(incoming)` first; True means the message was such an answer.
"""

from __future__ import annotations

from sqlalchemy import select

from salesnav import clock
from salesnav.bot import inbound as inbound_store
from salesnav.bot import outbox
from salesnav.bot.capture import drafts
from salesnav.bot.client import get_client
from salesnav.bot.parse import parse_message
from salesnav.bot.router import Incoming
from salesnav.handlers.attachments import store_attachment
from salesnav.handlers.checklists import Evidence, item_prompt
from salesnav.handlers.errors import DomainError
from salesnav.handlers.reports import chase
from salesnav.handlers.scope import opportunity_for, touchpoint_for
from salesnav.jobs.queue import enqueue_after_commit
from salesnav.models import ChecklistItem, ChecklistItemKind, InboundMessage, Opportunity, User
from salesnav.models import session as db
from salesnav.models.messaging import DraftKind, DraftStep
from salesnav.settings import current_settings

COMMANDS = ("触点", "记触点", "商机", "建商机", "推进", "待办", "我的待办", "帮助", "日报", "诊断", "批注")


def complete_touchpoint(incoming: Incoming, touchpoint_id: int) -> None:
    session, rep = incoming.session, incoming.member
    tp = touchpoint_for(session, rep, touchpoint_id)
    drafts.close_waiting(session, rep)
    drafts.open_draft(
        session,
        rep,
        DraftKind.TOUCHPOINT,
        DraftStep.AWAITING_SUMMARY,
        touchpoint_id=tp.id,
        customer_id=tp.customer_id,
        expires_at=clock.now() + drafts.window(session),
    )
    local = tp.occurred_at.astimezone(current_settings().business_tz)
    incoming.reply_text(
        f"补录「{tp.customer.name} · {local.month}月{local.day}日{tp.type.label}」：请发一句文字或语音，"
        "写上在场的人和下一步及时间，例如「李总在场，下周二送样」。"
    )


def complete_deal(incoming: Incoming, opportunity_id: int) -> None:
    session, rep = incoming.session, incoming.member
    opp = opportunity_for(session, rep, opportunity_id)
    missing = chase.start_evidence(session, rep, opp)
    if not missing:
        incoming.reply_text(f"「{opp.title}」的「{opp.stage.name}」检查清单已经齐全，无需补录。")
        return
    listed = "\n".join(f"{i}. {item.name}" for i, item in enumerate(missing, start=1))
    incoming.reply_text(
        f"补录「{opp.title}」（{opp.stage.name}）的检查清单，还缺 {len(missing)} 项：\n{listed}\n\n"
        f"先发第 1 项 {item_prompt(missing[0])}。"
    )


def _pending(incoming: Incoming) -> chase.PendingEvidence | None:
    return chase.pending_evidence(incoming.session, incoming.member, drafts.window(incoming.session))


def claim(incoming: Incoming) -> bool:
    """Whether this message gives the evidence a deal from the 待补录 list waits for."""
    message = incoming.message
    if incoming.user is None or message.msg_type not in ("text", "image", "file"):
        return False
    content = (message.get("Content") or "").strip()
    if message.msg_type == "text" and (not content or content.split()[0] in COMMANDS):
        return False
    pending = _pending(incoming)
    if pending is None:
        return False
    item = pending.item
    if message.msg_type != "text":
        if item.kind is not ChecklistItemKind.FILE and item.kind is not ChecklistItemKind.TEXT:
            return False
        inbound_id = incoming.inbound.id
        enqueue_after_commit(incoming.session, keep_file, inbound_id, key=f"chase-file:{inbound_id}", queue="media")
        incoming.note = f"evidence file for deal {pending.opportunity.id} queued"
        return True
    if item.kind is ChecklistItemKind.FILE:
        incoming.reply_text(f"还差 {item_prompt(item)}，文字不能代替。")
        return True
    given = Evidence(checked=True) if item.kind is ChecklistItemKind.CHECKBOX and content in chase.DONE_WORDS else None
    left = chase.give_evidence(incoming.session, incoming.member, pending, given or Evidence(text=content[:2000]))
    _after(incoming, pending.opportunity, item, left)
    return True


def _after(incoming: Incoming, opp: Opportunity, item: ChecklistItem, left: list[ChecklistItem]) -> None:
    if left:
        incoming.reply_text(f"✅ 已收到「{item.name}」。还差 {len(left)} 项，下一项 {item_prompt(left[0])}。")
    else:
        incoming.reply_text(f"✅ 已补齐「{opp.title}」在「{opp.stage.name}」阶段的检查清单。")


def keep_file(inbound_id: int) -> None:
    """Download the photo or file (no session open), keep it, and give it to the pending item."""
    with db.transaction() as session:
        row = session.get(InboundMessage, inbound_id)
        if row is None:
            return
        message = parse_message(row.raw_xml)
    try:
        content = get_client().download_media(message.get("MediaId") or "")
    except Exception as exc:
        inbound_store.mark_failed(inbound_id, exc)
        raise
    name = message.get("FileName") or f"{message.msg_type}-{message.get('MsgId') or inbound_id}"
    try:
        with db.transaction() as session:
            row = session.get(InboundMessage, inbound_id)
            user = session.scalars(
                select(User).where(User.wecom_userid == message.actor_userid, User.deleted_at.is_(None))
            ).first()
            if row is None or user is None:
                return
            incoming = Incoming(session, message, row, user)
            pending = _pending(incoming)
            if pending is None:
                incoming.reply_text("文件已收到，但补录已超时，请在待补录消息中重新点「补」。")
                return
            attachment = store_attachment(
                session, user, data=content, filename=name, root=current_settings().attachments_dir
            )
            left = chase.give_evidence(session, user, pending, Evidence(attachment_id=attachment.id))
            _after(incoming, pending.opportunity, pending.item, left)
    except DomainError as exc:
        with db.transaction() as session:
            outbox.queue_text(
                session, message.actor_userid, f"没有补上：{exc.message}", idempotency_key=f"inbound:{inbound_id}:chase"
            )
