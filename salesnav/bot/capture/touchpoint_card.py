"""记触点: a button card — tap a customer, tap an emotion (type pre-selected) — and the touchpoint exists.

The card is then updated in place to show what was saved; the voice note or text the rep sends
within the capture window becomes its summary and next action (see `text` and `media`).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from salesnav import clock
from salesnav.bot import cards
from salesnav.bot.capture import drafts
from salesnav.bot.capture.lookup import customer_contacts, last_present, recent_customers, usual_type
from salesnav.bot.router import Incoming, router
from salesnav.handlers.scope import customer_for
from salesnav.handlers.touchpoints import log_touchpoint
from salesnav.models import CaptureSource, Emotion, OutboundMessage, Touchpoint, TouchpointType
from salesnav.models.messaging import CaptureDraft, DraftKind, DraftStep
from salesnav.settings import current_settings

MENU_KEY = "TOUCHPOINT_NEW"
STALE_CARD = "这张卡片已经处理过了。要再记一条，请点菜单「记触点」。"


@router.event("click", key=MENU_KEY)
def start(incoming: Incoming) -> None:
    user, session = incoming.user, incoming.session
    assert user is not None
    customers = recent_customers(session, user)
    if not customers:
        incoming.reply_text("您名下还没有客户。客户加了您的企业微信后会自动建档，之后就能在这里一键记触点。")
        return
    drafts.close_waiting(session, user)
    task_id = f"tp-{user.id}-{incoming.inbound.id}"
    draft = drafts.open_draft(session, user, DraftKind.TOUCHPOINT, DraftStep.CHOOSE_CUSTOMER, task_id=task_id)
    card = incoming.reply_card(cards.touchpoint_customer_card(task_id, [(c.id, c.name) for c in customers]))
    draft.data = {"card_idempotency_key": card.idempotency_key}


@router.card_button("tp")
def tapped(incoming: Incoming) -> None:
    _, what, value = ((incoming.message.event_key or "") + "::").split(":", 2)
    value = value.rstrip(":")
    if what == "new":
        start(incoming)
        return
    assert incoming.user is not None
    draft = drafts.by_task(incoming.session, incoming.user, incoming.message.get("TaskId"))
    if what == "cust" and draft is not None and draft.step is DraftStep.CHOOSE_CUSTOMER:
        _choose_customer(incoming, draft, int(value) if value.isdigit() else 0)
    elif what == "who" and draft is not None and draft.step is DraftStep.CHOOSE_KIND and value.isdigit():
        _toggle_contact(incoming, draft, int(value))
    elif what == "emo" and draft is not None and draft.step is DraftStep.CHOOSE_KIND:
        _save(incoming, draft, value)
    else:
        incoming.reply_text(STALE_CARD)
        incoming.note = f"stale or unknown card tap {incoming.message.event_key}"


def _choose_customer(incoming: Incoming, draft: CaptureDraft, customer_id: int) -> None:
    assert incoming.user is not None
    customer = customer_for(incoming.session, incoming.user, customer_id)
    draft.customer_id, draft.step = customer.id, DraftStep.CHOOSE_KIND
    contacts = customer_contacts(incoming.session, customer.id)[: cards.MAX_CONTACT_BUTTONS]
    present = last_present(incoming.session, incoming.member, customer.id) or (
        [contacts[0].id] if len(contacts) == 1 else []
    )
    draft.data = {
        **(draft.data or {}),
        "contacts": [[c.id, c.name] for c in contacts],
        "present": [cid for cid in present if any(c.id == cid for c in contacts)],
    }
    incoming.show_card(_kind_card(incoming, draft, customer.name))


def _kind_card(incoming: Incoming, draft: CaptureDraft, customer_name: str) -> dict[str, object]:
    data = draft.data or {}
    chosen = data.get("type") or usual_type(incoming.session, incoming.member).value
    contacts = [(cid, name, cid in data.get("present", [])) for cid, name in data.get("contacts", [])]
    return cards.touchpoint_kind_card(draft.task_id or "", customer_name, TouchpointType(chosen), contacts)


def _toggle_contact(incoming: Incoming, draft: CaptureDraft, contact_id: int) -> None:
    """A tap on a contact marks them there, or not; the card shows the new state, the type as chosen so far."""
    data = dict(draft.data or {})
    if contact_id not in [cid for cid, _ in data.get("contacts", [])]:
        incoming.reply_text(STALE_CARD)
        return
    present = list(data.get("present", []))
    data["present"] = [cid for cid in present if cid != contact_id] if contact_id in present else [*present, contact_id]
    chosen = incoming.message.selected_options.get(cards.TYPE_QUESTION) or []
    if chosen:
        data["type"] = TouchpointType.from_label(chosen[0]) or chosen[0]
    draft.data = data
    customer = customer_for(incoming.session, incoming.member, draft.customer_id or 0)
    incoming.show_card(_kind_card(incoming, draft, customer.name))


def _save(incoming: Incoming, draft: CaptureDraft, emotion_value: str) -> None:
    user, session = incoming.user, incoming.session
    assert user is not None and draft.customer_id is not None
    chosen = incoming.message.selected_options.get(cards.TYPE_QUESTION) or []
    tp_type = chosen[0] if chosen else (draft.data or {}).get("type") or usual_type(session, user).value
    now = clock.now()
    touchpoint = log_touchpoint(
        session,
        user,
        customer_id=draft.customer_id,
        type=TouchpointType.from_label(tp_type) or tp_type,
        emotion=Emotion.from_label(emotion_value) or emotion_value,
        contact_ids=list((draft.data or {}).get("present", [])),
        occurred_at=now,
        source=CaptureSource.CHAT_BUTTON,
        form_opened_at=draft.opened_at,
    )
    draft.touchpoint_id, draft.step = touchpoint.id, DraftStep.AWAITING_SUMMARY
    draft.expires_at = now + drafts.window(session)
    incoming.show_card(saved_card(incoming, draft, touchpoint))


def saved_card(incoming: Incoming, draft: CaptureDraft, touchpoint: Touchpoint) -> dict[str, object]:
    return cards.touchpoint_saved_card(
        draft.task_id or "",
        customer_name=touchpoint.customer.name,
        type_label=touchpoint.type.label,
        emotion_label=touchpoint.emotion.label,
        summary=touchpoint.summary or None,
        next_action=touchpoint.next_action,
        due_text=due_text(touchpoint.next_action_due, incoming),
        window_minutes=int(drafts.window(incoming.session).total_seconds() // 60),
        present=[c.name for c in touchpoint.contacts],
    )


def due_text(due: datetime | None, incoming: Incoming) -> str | None:
    if due is None:
        return None
    local = due.astimezone(current_settings().business_tz)
    return f"{local.month}月{local.day}日 {local:%H:%M}"


def update_after_summary(incoming: Incoming, draft: CaptureDraft, touchpoint: Touchpoint) -> bool:
    """Show the summary on the card, spending the code WeCom returned when the card was sent.

    Each response code works once: the two taps spent theirs, the send's own code is still unused.
    """
    key = (draft.data or {}).get("card_idempotency_key")
    if not key or (draft.data or {}).get("send_code_used"):
        return False
    code = incoming.session.scalar(select(OutboundMessage.response_code).where(OutboundMessage.idempotency_key == key))
    if not code:
        return False
    incoming.update_card(code, saved_card(incoming, draft, touchpoint))
    draft.data = {**draft.data, "send_code_used": True}
    return True
