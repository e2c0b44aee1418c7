"""Answering a collaboration ticket part (协同单) in the chat, from the card the department received.

    选素材   → the card turns into a drop-down of the library's best fits; 附上所选素材 answers with one
    发文件   → the next file or photo (within collaboration.chat_answer_window_minutes) is the material
    确认排期 → the next text is the schedule date, read like any date in the chat (「3月10日」「下周二上午10点」);
               what follows the date is kept as the reply, and 「风险：…」 in it as the risk points
    标注风险 → the next text is the risk points

Every answer goes through handlers.collaboration.answer_part, as the mini-program's does. The tapped card
then shows what was answered: a tap that waits for a message keeps its response code until the answer
arrives (WeCom takes each code once), so the card changes when the answer is in, not before.
The text, photo and file routes call `claim(incoming)` first; True means the message was such an answer.
"""

from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy.orm import Session

from salesnav import clock
from salesnav.bot import inbound as inbound_store
from salesnav.bot import outbox
from salesnav.bot.capture.phrases import parse_due
from salesnav.bot.client import get_client
from salesnav.bot.parse import parse_message
from salesnav.bot.router import Incoming, router
from salesnav.bot.ticket_cards import (
    MATERIAL_QUESTION,
    PREFIX,
    day_text,
    material_choice_card,
    part_card,
    task_id_for,
)
from salesnav.handlers import ticket_notices
from salesnav.handlers.attachments import store_attachment
from salesnav.handlers.collaboration import answer_part, material_choices, part_to_answer
from salesnav.handlers.errors import DomainError
from salesnav.handlers.rules.texts import how_long
from salesnav.jobs.queue import enqueue_after_commit
from salesnav.models import InboundMessage, Material, PartStatus, TicketPart, User
from salesnav.models import session as db
from salesnav.settings import current_settings

STALE = "这个按钮已失效，请重新打开最新的协同单消息。"
RISKS = re.compile(r"[，,。；;\s]*风险(?:点)?\s*[:：]\s*")
# Heads of the chat's own commands: typed while an answer waits, they mean the command.
COMMANDS = ("触点", "记触点", "商机", "建商机", "待办", "我的待办", "帮助", "help", "?", "？", "诊断", "批注")


# --- card buttons -----------------------------------------------------------------------------------


@router.card_button(PREFIX)
def on_button(incoming: Incoming) -> None:
    _prefix, action, *rest = (incoming.message.event_key or "").split(":")
    if not rest or not rest[0].isdigit():
        incoming.reply_text(STALE)
        return
    part = part_to_answer(incoming.session, incoming.member, int(rest[0]))
    if part.status is PartStatus.CLOSED and action != "risk":
        _show_done(incoming, part)
    elif action == "mat":
        _choose_material(incoming, part)
    elif action == "use":
        _use_material(incoming, part)
    elif action in ticket_notices.CHAT_STEPS:
        _wait_for_message(incoming, part, action)
    else:
        incoming.reply_text(STALE)


def _task_id(incoming: Incoming, part: TicketPart) -> str:
    return incoming.message.get("TaskId") or task_id_for(part, incoming.member)


def _show_done(incoming: Incoming, part: TicketPart) -> None:
    incoming.show_card(_card(incoming.session, part, _task_id(incoming, part)))
    who = incoming.session.get(User, part.responder_id) if part.responder_id else None
    incoming.reply_text(f"「{part.request}」已完成" + (f"（{who.name}已回复）" if who else "") + "，无需再回复。")


def _choose_material(incoming: Incoming, part: TicketPart) -> None:
    materials = material_choices(incoming.session, part)
    if not materials:
        _wait_for_message(incoming, part, "file", lead="素材库里还没有可用的素材。")
        return
    incoming.show_card(material_choice_card(part, materials, task_id=_task_id(incoming, part), now=clock.now()))


def _use_material(incoming: Incoming, part: TicketPart) -> None:
    chosen = incoming.message.selected_options.get(MATERIAL_QUESTION) or []
    if not chosen or not chosen[0].isdigit():
        incoming.reply_text("请先在下拉框中选择一份素材，再点「附上所选素材」。")
        return
    part = answer_part(incoming.session, incoming.member, part_id=part.id, material_ids=[int(chosen[0])])
    material = incoming.session.get(Material, int(chosen[0]))
    assert material is not None  # answer_part refuses a material that is not there
    said = f"✅ 已附上素材「{material.title}」，{_outcome(part)}"
    _after_answer(incoming, part, incoming.message.get("ResponseCode"), _task_id(incoming, part), said)


def _wait_for_message(incoming: Incoming, part: TicketPart, step: str, lead: str = "") -> None:
    session = incoming.session
    ticket_notices.start_chat_answer(
        session,
        incoming.member,
        part,
        step,
        response_code=incoming.message.get("ResponseCode"),
        task_id=_task_id(incoming, part),
    )
    minutes = int(ticket_notices.chat_window(session).total_seconds() // 60)
    ask = {
        "file": f"请在 {minutes} 分钟内直接发送文件（PDF、PPT）或图片，作为「{part.request}」的材料。",
        "date": f"请在 {minutes} 分钟内直接回复排期日期，例如「3月10日」或「下周二上午10点」。",
        "risk": f"请在 {minutes} 分钟内直接回复风险点，例如「装机场地需提前改造供电」。",
    }[step]
    incoming.reply_text(lead + ask)


# --- the message after the tap ------------------------------------------------------------------------


def claim(incoming: Incoming) -> bool:
    """Whether this message answers a ticket part the sender just tapped a button for (handled here)."""
    user, message = incoming.user, incoming.message
    if user is None or message.msg_type not in ("text", "image", "file"):
        return False
    content = (message.get("Content") or "").strip()
    if message.msg_type == "text" and (not content or content.split()[0].lower() in COMMANDS):
        return False
    pending = ticket_notices.pending_chat_answer(incoming.session, user)
    if pending is None:
        return False
    if message.msg_type != "text":
        if pending.step != "file":
            return False
        inbound_id = incoming.inbound.id
        enqueue_after_commit(
            incoming.session,
            attach_sent_file,
            inbound_id,
            pending.part.id,
            pending.response_code,
            pending.task_id,
            key=f"ticket-file:{inbound_id}",
            queue="media",
        )
        incoming.note = f"file for ticket part {pending.part.id} queued"
        return True
    if pending.step == "file":
        incoming.reply_text("请直接发送文件或图片作为材料（文字不算材料）；不附材料可以忽略这条提示。")
        return True
    if pending.step == "risk":
        part = answer_part(incoming.session, user, part_id=pending.part.id, risks=content)
        then = "。确认排期后点「确认排期」回复日期，任务即完成。"
        said = f"✅ 已标注风险点：{part.risks}" + (f"，{_outcome(part)}" if part.status is PartStatus.CLOSED else then)
    else:
        tz = current_settings().business_tz
        due, rest = parse_due(content, clock.now(), tz)
        if due is None:
            incoming.reply_text("没看懂这个日期，请再发一次，例如「3月10日」或「下周二上午10点」。")
            return True
        if due.astimezone(tz).date() < clock.now().astimezone(tz).date():
            incoming.reply_text(f"排期日期「{day_text(due)}」已经过去，请回复今天或以后的日期。")
            return True
        reply, risks = rest, ""
        if marker := RISKS.search(rest):
            reply, risks = rest[: marker.start()], rest[marker.end() :]
        part = answer_part(
            incoming.session,
            user,
            part_id=pending.part.id,
            schedule_date=due,
            text=reply.strip(" ，,。；;"),
            risks=risks.strip() or None,
        )
        noted = f"，风险点：{part.risks}" if part.risks else "（如有风险点，可点「标注风险」补充）"
        said = f"✅ 已确认排期：{day_text(due)}{noted}，{_outcome(part)}"
    _after_answer(incoming, part, pending.response_code, pending.task_id or task_id_for(part, user), said)
    return True


def _after_answer(incoming: Incoming, part: TicketPart, code: str | None, task_id: str, said: str) -> None:
    """The tapped card shows the answer (when its code is still unused); the member is told what was kept."""
    if code:
        incoming.update_card(code, _card(incoming.session, part, task_id))
    incoming.reply_text(said)


def _card(session: Session, part: TicketPart, task_id: str) -> dict[str, object]:
    return part_card(part, task_id=task_id, now=clock.now(), material_titles=_material_titles(session, part))


def _material_titles(session: Session, part: TicketPart) -> list[str]:
    if not part.material_ids:
        return []
    return list(session.scalars(select(Material.title).where(Material.id.in_(part.material_ids)).order_by(Material.id)))


def _outcome(part: TicketPart) -> str:
    """「「提供竞品对比材料」已完成（协和医院·CT球管更换，用时 3小时，在时限内）。」"""
    opp = part.ticket.opportunity
    deal = f"{opp.customer.name}·{opp.title}"
    if part.status is not PartStatus.CLOSED:
        return f"已记录（{deal}）。"
    return f"「{part.request}」已完成（{deal}，{_timing(part)}）。"


def _timing(part: TicketPart) -> str:
    assert part.first_valid_response_at is not None
    took = how_long(part.first_valid_response_at - part.created_at)
    if part.first_valid_response_at <= part.due_at:
        return f"用时{took}，在时限内"
    return f"用时{took}，超时{how_long(part.first_valid_response_at - part.due_at)}"


# --- the file job -------------------------------------------------------------------------------------


def attach_sent_file(inbound_id: int, part_id: int, response_code: str | None, task_id: str | None) -> None:
    """Download the file or photo (no session open), keep it, and answer the part with it."""
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
            user = _sender(session, message.actor_userid)
            if row is None or user is None:
                return
            attachment = store_attachment(
                session, user, data=content, filename=name, root=current_settings().attachments_dir
            )
            part = answer_part(session, user, part_id=part_id, attachment_ids=[attachment.id])
            said = f"✅ 已附上文件「{attachment.filename}」，{_outcome(part)}"
            incoming = Incoming(session, message, row, user)
            _after_answer(incoming, part, response_code, task_id or task_id_for(part, user), said)
    except DomainError as exc:  # a file type we do not keep, a part already done: tell the member
        with db.transaction() as session:
            outbox.queue_text(
                session,
                message.actor_userid,
                f"材料没有附上：{exc.message}",
                idempotency_key=f"inbound:{inbound_id}:ticket-file",
            )


def _sender(session: Session, userid: str) -> User | None:
    return session.scalars(select(User).where(User.wecom_userid == userid, User.deleted_at.is_(None))).first()
