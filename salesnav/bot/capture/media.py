"""Voice notes and photos in the chat: fetch the media, turn it into text, file it, reply.

The route only queues a job on the "media" queue, so a burst of voice notes never delays the
rest of the chat. The job downloads the file and runs the speech or OCR engine (seconds) with no
database session open, then files the result in one short transaction: a voice note becomes the
pending touchpoint's summary or a draft card (voice_note.py); a photo that reads as an invoice
becomes a payment offer (invoice_photo.py); any other photo is kept as an attachment.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from salesnav.bot import inbound as inbound_store
from salesnav.bot import outbox
from salesnav.bot.capture import annotate, invoice_photo, record_chase, stage_move, ticket_answer, unfreeze, voice_note
from salesnav.bot.client import get_client
from salesnav.bot.parse import WeComMessage, parse_message
from salesnav.bot.router import Incoming, router
from salesnav.handlers.attachments import store_attachment
from salesnav.handlers.errors import DomainError
from salesnav.handlers.payments import InvoiceFields
from salesnav.jobs.queue import enqueue_after_commit
from salesnav.media_pool import read_invoice, transcribe
from salesnav.models import Attachment, InboundMessage, User
from salesnav.models import session as db
from salesnav.ocr import ImageRejected
from salesnav.settings import current_settings
from salesnav.voice import AudioRejected
from salesnav.voice.audio import sniff

log = logging.getLogger(__name__)


@router.message("voice")
@router.message("image")
def on_media(incoming: Incoming) -> None:
    # A director asked for a 解除冻结 reason gets asked for text; a photo may be the material a ticket card asked
    # for; a manager's voice note may be a 批注 on an alert.
    if (
        unfreeze.claim(incoming)
        or ticket_answer.claim(incoming)
        or annotate.claim(incoming)
        or record_chase.claim(incoming)
    ):
        return
    inbound_id = incoming.inbound.id
    enqueue_after_commit(incoming.session, store_media, inbound_id, key=f"media:{inbound_id}", queue="media")
    incoming.note = "media download queued"


def attachments_root() -> Path:
    return current_settings().attachments_dir


def store_media(inbound_id: int) -> None:
    """The media job: download and recognise (no session open), then file the result and reply."""
    with db.transaction() as session:
        row = session.get(InboundMessage, inbound_id)
        if row is None:
            return
        message, received_at = parse_message(row.raw_xml), row.received_at
    try:
        content = get_client().download_media(message.get("MediaId") or "")
        if message.msg_type == "voice":
            heard = hear(content, message, received_at)
            _file(inbound_id, message, content, lambda incoming, att: voice_note.file_voice(incoming, att, heard))
        else:
            reading = read_photo(content)
            _file(inbound_id, message, content, lambda incoming, att: _file_photo(incoming, att, reading))
    except DomainError as exc:  # audio we cannot use, a file type we do not keep: tell the rep, it is no fault
        with db.transaction() as session:
            outbox.queue_text(session, message.actor_userid, exc.message, idempotency_key=f"inbound:{inbound_id}:media")
    except Exception as exc:
        inbound_store.mark_failed(inbound_id, exc)
        raise


def store_checklist_file(inbound_id: int) -> None:
    """The job for a file sent while a deal's move waits for a file item: download, keep, give it to the move."""
    with db.transaction() as session:
        row = session.get(InboundMessage, inbound_id)
        if row is None:
            return
        message = parse_message(row.raw_xml)
    try:
        content = get_client().download_media(message.get("MediaId") or "")
        _file(inbound_id, message, content, _give_to_move)
    except DomainError as exc:  # a file type we do not keep, or the move refused: tell the rep why
        with db.transaction() as session:
            outbox.queue_text(session, message.actor_userid, exc.message, idempotency_key=f"inbound:{inbound_id}:media")
    except Exception as exc:
        inbound_store.mark_failed(inbound_id, exc)
        raise


def _give_to_move(incoming: Incoming, attachment: Attachment) -> None:
    move = stage_move.waiting_for_file(incoming.session, incoming.member)
    if move is None:
        incoming.reply_text("文件已保存。推进已结束或已超时，如需推进请重新发送「推进 客户名」。")
        return
    stage_move.give_file(incoming, move, attachment)


def hear(content: bytes, message: WeComMessage, spoken_at: datetime) -> voice_note.Heard | None:
    """The transcript (slow); None when the engine cannot run. Unusable audio is a DomainError for the rep."""
    fmt = sniff(content) or (message.get("Format") or "amr").lower()
    try:
        transcript = transcribe(content, fmt, settings=current_settings())
    except AudioRejected as exc:
        raise DomainError(exc.message) from exc
    except Exception:  # the engine, not the audio: keep the note, say recognition is down, alert the operator
        log.exception("speech engine failed on inbound voice")
        return None
    return voice_note.Heard(text=transcript.text, engine=transcript.engine, spoken_at=spoken_at)


def read_photo(content: bytes) -> Any:
    """The invoice reading of a photo (slow), or None when it is no image or the engine cannot run."""
    try:
        return read_invoice(content, settings=current_settings())
    except ImageRejected:
        return None  # storing it decides whether we keep it at all
    except Exception:
        log.exception("OCR engine failed on inbound photo; kept as an ordinary photo")
        return None


def _file(inbound_id: int, message: WeComMessage, content: bytes, then: Callable[[Incoming, Attachment], None]) -> None:
    with db.transaction() as session:
        row = session.get(InboundMessage, inbound_id)
        user = _sender(session, message)
        if row is None or user is None:
            return  # the router already told an unknown sender; nothing to file under
        attachment = store_attachment(
            session,
            user,
            data=content,
            filename=f"{message.msg_type}-{message.get('MsgId') or 'media'}",
            root=attachments_root(),
        )
        then(Incoming(session, message, row, user), attachment)


def _file_photo(incoming: Incoming, attachment: Attachment, reading: Any) -> None:
    if (move := stage_move.waiting_for_file(incoming.session, incoming.member)) is not None:
        stage_move.give_file(incoming, move, attachment)  # the photo is the checklist item the bot asked for
    elif invoice_photo.looks_like_invoice(reading):
        invoice_photo.offer_payment(incoming, attachment, reading, InvoiceFields.from_reading(reading))
    else:
        invoice_photo.attach_photo(incoming, attachment)


def _sender(session: Session, message: WeComMessage) -> User | None:
    return session.scalars(
        select(User).where(User.wecom_userid == message.actor_userid, User.deleted_at.is_(None))
    ).first()
