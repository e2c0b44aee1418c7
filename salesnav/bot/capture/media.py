"""Voice notes and photos: fetch the media from WeCom, keep it, and say honestly what happens next.

Speech recognition and OCR engines come in a later issue; until then the file is stored as an
attachment (on the touchpoint the rep just saved, when there is one) and the reply says so.
The download runs in its own job on the "media" queue, with no database session held open.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from salesnav.bot import inbound as inbound_store
from salesnav.bot import outbox
from salesnav.bot.capture import drafts
from salesnav.bot.client import current_settings, get_client
from salesnav.bot.parse import WeComMessage, parse_message
from salesnav.bot.router import Incoming, router
from salesnav.handlers.attachments import store_attachment
from salesnav.handlers.errors import DomainError
from salesnav.handlers.touchpoint_notes import add_to_touchpoint
from salesnav.jobs.queue import enqueue_after_commit
from salesnav.models import InboundMessage, User
from salesnav.models import session as db
from salesnav.models.messaging import DraftKind


@router.message("voice")
@router.message("image")
def on_media(incoming: Incoming) -> None:
    inbound_id = incoming.inbound.id
    enqueue_after_commit(incoming.session, store_media, inbound_id, key=f"media:{inbound_id}", queue="media")
    incoming.note = "media download queued"


def attachments_root() -> Path:
    return current_settings().data_dir / "attachments"  # where every attachment's bytes live


def store_media(inbound_id: int) -> None:
    """The media job: download (no session open), store the file, attach it, reply."""
    with db.transaction() as session:
        row = session.get(InboundMessage, inbound_id)
        if row is None:
            return
        message = parse_message(row.raw_xml)
    reply_key = f"inbound:{inbound_id}:media"
    try:
        content = get_client().download_media(message.get("MediaId") or "")
        with db.transaction() as session:
            _store_and_reply(session, message, content, reply_key)
    except DomainError as exc:  # e.g. a file type we do not keep: tell the rep, it is not a fault
        with db.transaction() as session:
            outbox.queue_text(session, message.actor_userid, exc.message, idempotency_key=reply_key)
    except Exception as exc:
        inbound_store.mark_failed(inbound_id, exc)
        raise


def _store_and_reply(session: Session, message: WeComMessage, content: bytes, reply_key: str) -> None:
    user = session.scalars(select(User).where(User.wecom_userid == message.actor_userid)).first()
    if user is None:
        return  # the router already told an unknown sender; nothing to file under
    what, engine = ("语音", "语音识别") if message.msg_type == "voice" else ("图片", "图片文字识别（OCR）")
    attachment = store_attachment(
        session,
        user,
        data=content,
        filename=f"{message.msg_type}-{message.get('MsgId') or 'media'}",
        root=attachments_root(),
    )
    draft = drafts.waiting_for_message(session, user)
    if draft is not None and draft.kind is DraftKind.TOUCHPOINT and draft.touchpoint_id:
        touchpoint = add_to_touchpoint(session, user, touchpoint_id=draft.touchpoint_id, attachment_ids=[attachment.id])
        where = f"，并附到刚记录的触点（{touchpoint.customer.name}）"
        tail = "，请再发一条文字作为纪要和下一步。"
    else:
        where, tail = "", "。"
    outbox.queue_text(
        session,
        user.wecom_userid,
        f"{what}已保存{where}。{engine}功能尚未上线，暂不能自动转成文字{tail}",
        idempotency_key=reply_key,
    )
