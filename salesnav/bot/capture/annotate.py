"""批注 in the chat: a manager annotates an alert by voice or text; the rep gets it in seconds.

- Every alert or escalation a manager receives comes with a card (`queue_alert_card`, called by the
  rules' notify) whose 批注 button picks that alert; the next voice or text within the window annotates it.
- A message starting with 批注, or a voice/text reply soon after an alert arrived, annotates the most
  recent open alert (salesnav/handlers/annotation_feedback.py decides which).
- Voice runs in a job on the "media" queue: download, keep the file, transcribe, convert to AMR, upload —
  with no database session open during the slow parts — then the rep receives the original voice, the
  transcript and the alert's context with 收到 / 需要支援, and the manager gets the answer back.

The text and voice handlers call `claim(incoming)` first; True means the message was an annotation.
"""

from __future__ import annotations

import time
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from salesnav.bot import annotation_cards as cards
from salesnav.bot import inbound as inbound_store
from salesnav.bot import outbox
from salesnav.bot.capture import unfreeze
from salesnav.bot.client import get_client
from salesnav.bot.parse import parse_message
from salesnav.bot.router import Incoming, router
from salesnav.handlers import annotation_feedback as feedback
from salesnav.handlers.annotations import add_annotation
from salesnav.handlers.attachments import UploadRefused, keep_unrecognised, store_attachment
from salesnav.handlers.errors import DomainError
from salesnav.handlers.records import record_event
from salesnav.handlers.rules.registry import rule_by_code
from salesnav.jobs.queue import enqueue_after_commit
from salesnav.media_pool import transcribe
from salesnav.models import Alert, Annotation, DepartmentKind, InboundMessage, User
from salesnav.models import session as db
from salesnav.settings import current_settings
from salesnav.voice import AudioRejected, to_amr

PREFIX = "批注"
# Heads of the chat's own commands: a manager typing one soon after an alert means the command, not a note.
COMMANDS = ("触点", "记触点", "商机", "建商机", "待办", "我的待办", "帮助", "help", "?", "？", "诊断")
FORWARD_TO = {"marketing": DepartmentKind.MARKETING, "delivery": DepartmentKind.DELIVERY}


# --- the alert card ---------------------------------------------------------------------------------


def queue_alert_card(session: Session, alert: Alert, user: User, tag: str, content: str = "") -> bool:
    """The alert as one card to a manager or director, with its 批注 button (once per alert, tag and person).
    `content`: the alert's message, on the card in full. False when this person gets no card (the caller
    sends the text instead)."""
    if not feedback.is_annotator(user) or alert.state not in feedback.OPEN_STATES:
        return False  # a resolved alert (e.g. a freeze just lifted) has nothing left to annotate
    session.flush()  # the alert has its id
    context = feedback.alert_context(session, alert)
    minutes = int(feedback.window(session).total_seconds() // 60)

    card = cards.alert_annotate_card(
        _alert_task(alert.id, tag, user),
        alert.id,
        context,
        minutes,
        unfreeze.card_buttons(alert, user),
        message=content,
        heading=_heading(alert, tag),
    )
    outbox.queue_template_card(
        session, user.wecom_userid, card, idempotency_key=f"alert:{alert.id}:{tag}-card:{user.wecom_userid}"
    )
    return True


def queue_digest_card(
    session: Session, alerts: list[Alert], user: User, lines: list[str], rule_name: str, *, key: str
) -> None:
    """Several escalations to one person in one scan: one card listing them, a 批注 button for the first few."""
    session.flush()
    picks = [(a.id, feedback.alert_context(session, a).customer_name or "") for a in alerts]
    card = cards.alert_digest_card(f"digest-{alerts[0].id}-{user.id}", f"{rule_name}升级", lines, picks)
    outbox.queue_template_card(session, user.wecom_userid, card, idempotency_key=key)


def _heading(alert: Alert, tag: str) -> str:

    try:
        name = rule_by_code(alert.rule).name
    except KeyError:
        name = "预警"
    return f"{name}升级" if tag == "escalated" else name


def _alert_task(alert_id: int, tag: str, user: User) -> str:
    return f"ann-{alert_id}-{tag}-{user.id}"


# --- claiming chat messages -------------------------------------------------------------------------


def claim(incoming: Incoming) -> bool:
    """Whether this message is a manager's annotation (handled here) rather than anything else."""
    user = incoming.user
    if not feedback.is_annotator(user):
        return False
    assert user is not None
    if incoming.message.msg_type == "voice":
        alert = feedback.target_alert(incoming.session, user, explicit=False)
        if alert is None:
            return False
        inbound_id = incoming.inbound.id
        enqueue_after_commit(
            incoming.session, annotate_by_voice, inbound_id, alert.id, key=f"annotate:{inbound_id}", queue="media"
        )
        incoming.note = f"voice annotation of alert {alert.id} queued"
        return True
    if incoming.message.msg_type != "text":
        return False
    content = (incoming.message.get("Content") or "").strip()
    explicit = content.startswith(PREFIX)
    if explicit:
        content = content[len(PREFIX) :].lstrip(" ：:，,").strip()
    elif not content or content.split()[0].lower() in COMMANDS:
        return False
    alert = feedback.target_alert(incoming.session, user, explicit=explicit)
    if alert is None:
        if explicit:
            incoming.reply_text("目前没有待您批注的预警。收到预警后点「批注」，再发语音或文字即可。")
        return explicit
    if not content:
        incoming.reply_text(f"请在「批注」后写上内容，例如：批注 今天下午先电话联系{_rep_name(incoming, alert)}的客户")
        return True
    annotation = add_annotation(incoming.session, user, text=content, alert_id=alert.id)
    deliver_to_rep(incoming.session, annotation, voice_media_id=None)
    incoming.reply_text(_sent_text(incoming.session, annotation, alert))
    return True


def _rep_name(incoming: Incoming, alert: Alert) -> str:
    return feedback.alert_context(incoming.session, alert).rep_name or "销售"


def _sent_text(session: Session, annotation: Annotation, alert: Alert) -> str:
    context = feedback.alert_context(session, alert)
    rep = session.get(User, annotation.recipient_id) if annotation.recipient_id else None
    what = "语音批注" if annotation.audio_attachment_id else "批注"
    heard = f"\n转写：{annotation.transcript}" if annotation.audio_attachment_id and annotation.transcript else ""
    return f"✅ {what}已推送给{rep.name if rep else '销售'}（{context.problem}）{heard}"


# --- to the rep ---------------------------------------------------------------------------------------


def deliver_to_rep(session: Session, annotation: Annotation, *, voice_media_id: str | None) -> None:
    """The rep receives the original voice (when there is one), then the note with its context and buttons."""
    rep = session.get(User, annotation.recipient_id) if annotation.recipient_id else None
    if rep is None or not rep.active or rep.deleted_at:
        return
    if voice_media_id:
        outbox.queue_message(
            session,
            rep.wecom_userid,
            "voice",
            {"media_id": voice_media_id},
            idempotency_key=f"annotation:{annotation.id}:voice",
        )
    outbox.queue_template_card(
        session, rep.wecom_userid, _rep_card(session, annotation), idempotency_key=f"annotation:{annotation.id}:card"
    )


def _rep_card(session: Session, annotation: Annotation) -> dict[str, object]:
    context = feedback.annotation_context(session, annotation)
    note = annotation.text or annotation.transcript or ""
    return cards.annotation_for_rep_card(
        f"annot-{annotation.id}",
        annotation.id,
        annotation.author.name,
        context,
        note,
        voice=annotation.audio_attachment_id is not None,
    )


# --- the voice job ------------------------------------------------------------------------------------


def annotate_by_voice(inbound_id: int, alert_id: int) -> None:
    """Download, keep, transcribe, convert, upload (no session open), then annotate and deliver."""
    started = time.perf_counter()
    with db.transaction() as session:
        row = session.get(InboundMessage, inbound_id)
        if row is None:
            return
        message = parse_message(row.raw_xml)
    userid, fmt = message.actor_userid, (message.get("Format") or "amr").lower()
    reply_key = f"inbound:{inbound_id}:annotation"
    try:
        audio = get_client().download_media(message.get("MediaId") or "")
        with db.transaction() as session:
            user = _user(session, userid)
            if user is None:
                return
            attachment_id = _keep(session, user, audio, f"批注语音-{message.get('MsgId') or inbound_id}")
        try:
            heard = transcribe(audio, fmt)
            amr = to_amr(audio, fmt)
        except AudioRejected as exc:
            with db.transaction() as session:
                user = _user(session, userid)
                record_event(
                    session,
                    "annotation.voice_rejected",
                    "attachment",
                    attachment_id,
                    user,
                    alert_id=alert_id,
                    reason=exc.message,
                )
                outbox.queue_text(
                    session,
                    userid,
                    f"{exc.message}这条语音已保存（附件 #{attachment_id}），但没有发给销售。"
                    f"请重新录一条（60 秒内），或直接发文字批注。",
                    idempotency_key=reply_key,
                )
            return
        media_id = get_client().upload_media("voice", f"annotation-{inbound_id}.amr", amr, "audio/amr")
        with db.transaction() as session:
            user = _user(session, userid)
            assert user is not None
            try:
                annotation = add_annotation(
                    session, user, alert_id=alert_id, audio_attachment_id=attachment_id, transcript=heard.text
                )
            except DomainError as exc:
                outbox.queue_text(session, userid, f"批注未发送：{exc.message}", idempotency_key=reply_key)
                return
            deliver_to_rep(session, annotation, voice_media_id=media_id)
            alert = session.get(Alert, alert_id)
            assert alert is not None
            outbox.queue_text(session, userid, _sent_text(session, annotation, alert), idempotency_key=reply_key)
            record_event(
                session,
                "annotation.delivered",
                "annotation",
                annotation.id,
                user,
                source="voice",
                processing_ms=round((time.perf_counter() - started) * 1000),
                engine=heard.engine,
                audio_seconds=heard.duration_s,
            )
    except Exception as exc:
        inbound_store.mark_failed(inbound_id, exc)
        raise


def _user(session: Session, userid: str) -> User | None:
    return session.scalars(select(User).where(User.wecom_userid == userid, User.deleted_at.is_(None))).first()


def attachments_root() -> Path:
    return current_settings().attachments_dir


def _keep(session: Session, user: User, audio: bytes, filename: str) -> int:
    """Keep the voice note as an attachment — even one in a format we cannot read, so nothing is lost."""
    try:
        return store_attachment(session, user, data=audio, filename=filename, root=attachments_root()).id
    except UploadRefused:
        return keep_unrecognised(session, user, data=audio, filename=filename, root=attachments_root()).id


# --- card buttons: 批注 (manager), 收到 / 需要支援 (rep), 转市场部 / 转交付部 (manager) ----------------------


@router.card_button("ann")
def on_button(incoming: Incoming) -> None:
    _prefix, action, *rest = (incoming.message.event_key or "").split(":")
    user = incoming.user
    assert user is not None
    if not rest or not rest[0].isdigit():
        incoming.reply_text("这个按钮已失效，请重新打开最新的消息。")
        return
    target = int(rest[0])
    if action == "pick":
        _pick(incoming, user, target)
    elif action == "ack":
        _acknowledge(incoming, user, target)
    elif action == "help":
        _ask_for_help(incoming, user, target)
    elif action == "fwd" and len(rest) > 1 and rest[1] in FORWARD_TO:
        _forward(incoming, user, target, FORWARD_TO[rest[1]])
    elif action == "seen":
        incoming.reply_text("好的。")
    else:
        incoming.reply_text("这个按钮已失效，请重新打开最新的消息。")


def _response_code(incoming: Incoming) -> str:
    return incoming.message.get("ResponseCode") or ""


def _pick(incoming: Incoming, manager: User, alert_id: int) -> None:
    alert = feedback.pick_alert(incoming.session, manager, alert_id)
    context = feedback.alert_context(incoming.session, alert)
    minutes = int(feedback.window(incoming.session).total_seconds() // 60)
    task_id = incoming.message.get("TaskId") or _alert_task(alert.id, "raised", manager)
    if code := _response_code(incoming):
        incoming.update_card(code, cards.alert_picked_card(task_id, alert.id, context, minutes))
    incoming.reply_text(
        f"请在 {minutes} 分钟内发一条语音或文字，作为对「{context.problem}」的批注，"
        f"将立即推送给{context.rep_name or '销售'}。"
    )


def _acknowledge(incoming: Incoming, rep: User, annotation_id: int) -> None:
    session = incoming.session
    first = (annotation := session.get(Annotation, annotation_id)) is not None and annotation.acknowledged_at is None
    annotation = feedback.acknowledge(session, rep, annotation_id)
    if code := _response_code(incoming):
        incoming.update_card(code, cards.answered_card(_rep_card(session, annotation), "已收到"))
    if first:
        context = feedback.annotation_context(session, annotation)
        outbox.queue_text(
            session,
            annotation.author.wecom_userid,
            f"✅ {rep.name}已收到您的批注（{context.customer_name or ''}：{context.problem}）。",
            idempotency_key=f"annotation:{annotation.id}:acknowledged",
        )


def _ask_for_help(incoming: Incoming, rep: User, annotation_id: int) -> None:
    session = incoming.session
    first = (annotation := session.get(Annotation, annotation_id)) is not None and annotation.help_requested_at is None
    annotation = feedback.request_help(session, rep, annotation_id)
    if code := _response_code(incoming):
        incoming.update_card(code, cards.answered_card(_rep_card(session, annotation), "已请求支援"))
    if not first:
        return
    context = feedback.annotation_context(session, annotation)
    note = annotation.text or annotation.transcript or "（语音批注）"
    card = cards.help_request_card(
        f"annhelp-{annotation.id}", annotation.id, rep.name, context, note, context.opportunity_id is not None
    )
    outbox.queue_template_card(
        session, annotation.author.wecom_userid, card, idempotency_key=f"annotation:{annotation.id}:help"
    )
    incoming.reply_text(f"已通知{annotation.author.name}您需要支援，主管可将其转给市场部或交付部。")


def _forward(incoming: Incoming, manager: User, annotation_id: int, department: DepartmentKind) -> None:
    session = incoming.session
    part = feedback.forward_help(session, manager, annotation_id, department)
    annotation = session.get(Annotation, annotation_id)
    assert annotation is not None
    if code := _response_code(incoming):
        context = feedback.annotation_context(session, annotation)
        note = annotation.text or annotation.transcript or "（语音批注）"
        card = cards.help_request_card(
            incoming.message.get("TaskId") or f"annhelp-{annotation.id}",
            annotation.id,
            context.rep_name or "销售",
            context,
            note,
            True,
        )
        incoming.update_card(code, cards.answered_card(card, f"已转{department.label}"))
    due = part.due_at.astimezone(current_settings().business_tz)
    incoming.reply_text(
        f"已转给{department.label}：协同单 #{part.ticket_id}，请在 {part.sla_hours} 小时内响应"
        f"（{due.month}月{due.day}日 {due:%H:%M} 前）。"
    )
    head = part.department.head
    if head is not None and head.active and not head.deleted_at:
        outbox.queue_text(
            session,
            head.wecom_userid,
            f"【协同支援】{manager.name}转来一项任务：{part.request}。"
            f"请在 {part.sla_hours} 小时内响应（协同单 #{part.ticket_id}）。",
            idempotency_key=f"ticket_part:{part.id}:assigned",
        )
    if annotation.recipient_id:
        rep = session.get(User, annotation.recipient_id)
        if rep is not None:
            outbox.queue_text(
                session,
                rep.wecom_userid,
                f"{manager.name}已把您的支援请求转给{department.label}（协同单 #{part.ticket_id}），"
                f"{part.sla_hours} 小时内会有回复。",
                idempotency_key=f"ticket_part:{part.id}:rep",
            )
