"""A photo in the chat that reads as a VAT invoice → its fields and the matching receivable, confirmed by a tap.

The media job (capture/media.py) runs OCR with no database session open; when the reading has an
invoice number and a total the engine is reasonably sure of, the bot shows the fields with the open
receivable they most likely settle, and two buttons: 确认回款 records the payment (handlers/payments:
once per invoice number, audited), 不是发票 files it as an ordinary photo. Any other photo is an
ordinary photo: kept, and attached to the touchpoint waiting for its summary, if there is one.
"""

from __future__ import annotations

from typing import Any

from salesnav.bot import cards
from salesnav.bot.capture import drafts
from salesnav.bot.capture.touchpoint_card import STALE_CARD
from salesnav.bot.router import Incoming, router
from salesnav.handlers.attachments import attachment_for
from salesnav.handlers.payments import (
    InvoiceFields,
    ReceivableMatch,
    confirm_invoice_payment,
    last_reading,
    match_receivables,
    outstanding_fen,
    record_reading,
)
from salesnav.handlers.touchpoint_notes import add_to_touchpoint
from salesnav.models import Attachment
from salesnav.models.messaging import DraftKind
from salesnav.settings import current_settings

PREFIX = "inv"
# An invoice has a number and a total; below this the engine is guessing (a menu, a business card).
MIN_CONFIDENCE = 0.6
CHECK_BELOW = 0.85  # fields read with less confidence than this are marked 请核对 on the card


def looks_like_invoice(reading: Any) -> bool:
    """Whether an OCR reading is an invoice worth offering: number and total, both read with confidence."""
    if reading is None or not reading.number or reading.total is None:
        return False
    return min(reading.confidence.get("number", 0.0), reading.confidence.get("total", 0.0)) >= MIN_CONFIDENCE


def offer_payment(incoming: Incoming, attachment: Attachment, reading: Any, invoice: InvoiceFields) -> None:
    """Show what was read and the receivable it most likely settles; nothing is recorded yet."""
    user, session = incoming.member, incoming.session
    record_reading(session, user, attachment.id, invoice, dict(reading.confidence), reading.engine)
    matches = match_receivables(session, user, invoice, limit=1)
    task_id = f"{PREFIX}-{user.id}-{incoming.inbound.id}"
    incoming.reply_card(invoice_card(task_id, attachment.id, reading, matches[0] if matches else None))
    incoming.note = f"invoice {invoice.number} read by {reading.engine}; " + (
        f"matched receivable {matches[0].receivable.id}" if matches else "no open receivable matched"
    )


def _yuan(fen: int) -> str:
    return f"¥{fen / 100:,.2f}"


def invoice_card(task_id: str, attachment_id: int, reading: Any, match: ReceivableMatch | None) -> dict[str, Any]:
    def value(name: str, text: str | None) -> str:
        if not text:
            return "（未识别）"
        return text + ("（请核对）" if reading.confidence.get(name, 0.0) < CHECK_BELOW else "")

    rows = [
        {"keyname": "发票号码", "value": value("number", reading.number)},
        {"keyname": "开票日期", "value": value("date", reading.date.isoformat() if reading.date else None)},
        {"keyname": "购买方", "value": value("buyer", reading.buyer)},
        {
            "keyname": "价税合计",
            "value": value("total", f"¥{reading.total:,.2f}" if reading.total is not None else None),
        },
    ]
    buttons = []
    if match is not None:
        rows.append({"keyname": "对应应收", "value": f"{match.customer.name} 未回款 {_yuan(match.outstanding_fen)}"})
        buttons.append({"text": "确认回款", "style": 1, "key": f"{PREFIX}:ok:{attachment_id}:{match.receivable.id}"})
        desc = "核对无误后点「确认回款」登记；金额或客户不对，点卡片在客户端重新拍照、修改后确认"
    else:
        desc = "在您可见的客户中没有找到对应的未结清应收款；点卡片在客户端重新识别并选择"
    buttons.append({"text": "不是发票", "style": 2, "key": f"{PREFIX}:no:{attachment_id}"})
    return {
        "card_type": "button_interaction",
        "source": cards.SOURCE,
        "main_title": {"title": "识别到发票", "desc": desc},
        "card_action": {"type": 1, "url": current_settings().client_url("work/invoice/index")},
        "horizontal_content_list": rows,
        "task_id": task_id,
        "button_list": buttons,
    }


def attach_photo(incoming: Incoming, attachment: Attachment, *, prefix: str = "图片已保存") -> None:
    """An ordinary photo: attached to the touchpoint waiting for its summary, if there is one."""
    waiting = drafts.waiting_for_message(incoming.session, incoming.member)
    if waiting is not None and waiting.kind is DraftKind.TOUCHPOINT and waiting.touchpoint_id:
        touchpoint = add_to_touchpoint(
            incoming.session, incoming.member, touchpoint_id=waiting.touchpoint_id, attachment_ids=[attachment.id]
        )
        incoming.reply_text(f"{prefix}，并附到刚记录的触点（{touchpoint.customer.name}）。")
    else:
        incoming.reply_text(f"{prefix}。")


@router.card_button(PREFIX)
def tapped(incoming: Incoming) -> None:
    parts = (incoming.message.event_key or "").split(":")
    what = parts[1] if len(parts) > 1 else ""
    ids = [int(p) for p in parts[2:] if p.isdigit()]
    if what == "ok" and len(ids) == 2:
        _confirm(incoming, *ids)
    elif what == "no" and len(ids) == 1:
        _not_an_invoice(incoming, ids[0])
    else:
        incoming.reply_text(STALE_CARD)
        incoming.note = f"unknown invoice card tap {incoming.message.event_key}"


def _confirm(incoming: Incoming, attachment_id: int, receivable_id: int) -> None:
    user, session = incoming.member, incoming.session
    if last_reading(session, user, attachment_id) is None:
        incoming.reply_text(STALE_CARD)
        return
    # Every field as read from this photo (the handler takes them from the recorded reading).
    payment, created = confirm_invoice_payment(
        session, user, receivable_id=receivable_id, invoice=InvoiceFields(), attachment_id=attachment_id
    )
    left = outstanding_fen(session, payment.receivable)
    title = "✅ 已登记回款" if created else "该发票此前已登记，未重复记录"
    card: dict[str, object] = {
        "card_type": "button_interaction",
        "source": cards.SOURCE,
        "main_title": {"title": title, "desc": f"发票 {payment.invoice_no} · {_yuan(payment.amount_fen)}"},
        "horizontal_content_list": [
            {"keyname": "回款金额", "value": _yuan(payment.amount_fen)},
            {"keyname": "应收尚余", "value": _yuan(left)},
        ],
        "task_id": incoming.message.get("TaskId") or f"{PREFIX}-{user.id}-{incoming.inbound.id}",
        "button_list": [{"text": "记触点", "style": 2, "key": "tp:new"}],
    }
    incoming.show_card(card)
    incoming.reply_text(
        f"{title}：发票 {payment.invoice_no}，{_yuan(payment.amount_fen)}，该应收款尚余 {_yuan(left)}。"
    )
    incoming.note = f"payment {payment.id} {'recorded' if created else 'already recorded'}"


def _not_an_invoice(incoming: Incoming, attachment_id: int) -> None:
    attachment = attachment_for(incoming.session, incoming.member, attachment_id)
    incoming.show_card(
        {
            "card_type": "button_interaction",
            "source": cards.SOURCE,
            "main_title": {"title": "已作为普通图片保存", "desc": "没有登记回款"},
            "task_id": incoming.message.get("TaskId") or f"{PREFIX}-{attachment_id}",
            "button_list": [{"text": "记触点", "style": 2, "key": "tp:new"}],
        },
    )
    attach_photo(incoming, attachment, prefix="好的，不作为发票处理，图片已保存")
