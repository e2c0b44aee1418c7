"""A voice note in the chat → transcript → the pending touchpoint's summary, or a draft confirmed by one tap.

Within the capture window after 记触点 (a touchpoint saved, waiting for its summary) the transcript
becomes that touchpoint's summary and next action at once, like a typed message. Without one, the bot
shows a draft card: what it heard, the next action and due time it understood, and the rep's customers
as buttons (one named in the note first); tapping a customer saves the touchpoint, with the voice note
attached and the machine-filled fields marked as guesses. Speech recognition runs in the media job
(capture/media.py) with no database session open; this module only files what it heard.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from rapidfuzz import fuzz
from sqlalchemy import select

from salesnav import clock
from salesnav.bot import cards
from salesnav.bot.capture import daily_report, drafts
from salesnav.bot.capture.lookup import recent_customers, usual_type
from salesnav.bot.capture.text import describe
from salesnav.bot.capture.touchpoint_card import STALE_CARD, due_text, saved_card, update_after_summary
from salesnav.bot.router import Incoming, router
from salesnav.handlers.participants import describe_people, note_people_present
from salesnav.handlers.touchpoint_notes import add_to_touchpoint
from salesnav.handlers.touchpoints import log_touchpoint
from salesnav.models import Attachment, CaptureSource, Customer, Emotion, User
from salesnav.models.messaging import CaptureDraft, DraftKind, DraftStep
from salesnav.settings import current_settings
from salesnav.voice import draft_from_transcript

PREFIX = "vd"
MAX_CUSTOMER_BUTTONS = 5  # WeCom allows 6 buttons; the last one is 不保存
MENTION_SCORE = 90  # rapidfuzz partial_ratio of a customer's name inside the transcript
UNHEARD = "没有听清这段语音（语音已保存）。请在安静处靠近手机重新录一条，或直接发文字。"
ENGINE_DOWN = "语音已保存，但语音识别服务暂时不可用，请直接发文字作为纪要和下一步。"


@dataclass(frozen=True)
class Heard:
    """What the media job got from the speech engine (before any database work)."""

    text: str
    engine: str
    spoken_at: datetime


def file_voice(incoming: Incoming, attachment: Attachment, heard: Heard | None) -> None:
    """Put a transcribed voice note where the rep expects it: the waiting touchpoint, or a draft card."""
    if daily_report.take_voice(incoming, heard.text if heard else None):
        return
    user = incoming.member
    waiting = drafts.waiting_for_message(incoming.session, user, now=heard.spoken_at if heard else None)
    pending = (
        waiting if waiting is not None and waiting.kind is DraftKind.TOUCHPOINT and waiting.touchpoint_id else None
    )
    if heard is None or not heard.text.strip():
        if pending is not None and pending.touchpoint_id is not None:  # (pending has one, see above)
            add_to_touchpoint(
                incoming.session, user, touchpoint_id=pending.touchpoint_id, attachment_ids=[attachment.id]
            )
        incoming.reply_text(ENGINE_DOWN if heard is None else UNHEARD)
        return
    draft = draft_from_transcript(heard.text, heard.spoken_at, current_settings().business_tz)
    if pending is not None:
        _complete_pending(incoming, pending, attachment, draft, heard)
    else:
        _offer_draft(incoming, attachment, draft, heard)


def _complete_pending(
    incoming: Incoming, pending: CaptureDraft, attachment: Attachment, draft: Any, heard: Heard
) -> None:
    assert pending.touchpoint_id is not None
    touchpoint = add_to_touchpoint(
        incoming.session,
        incoming.member,
        touchpoint_id=pending.touchpoint_id,
        summary=draft.summary,
        next_action=draft.next_action,
        next_action_due=draft.next_action_due if draft.next_action else None,
        attachment_ids=[attachment.id],
        # The rep chose type and emotion by tapping; only what was heard is a guess.
        guessed_fields=["summary", *(g for g in draft.guessed_fields if g.startswith("next_action"))],
    )
    people = describe_people(note_people_present(incoming.session, incoming.member, touchpoint.id, heard.text))
    # The window stays open: a text (「下一步：…」) or another voice note that follows still completes it.
    update_after_summary(incoming, pending, touchpoint)
    incoming.reply_text(
        f"✅ 语音已转成文字，补充到触点：{describe(touchpoint, incoming)}"
        + (f"\n{people}" if people else "")
        + "\n识别内容可能有误，在这里修改："
        + current_settings().client_url(f"pages/touchpoint/index?id={touchpoint.id}")
    )
    incoming.note = f"voice transcribed by {heard.engine} into touchpoint {touchpoint.id}"


def _offer_draft(incoming: Incoming, attachment: Attachment, draft: Any, heard: Heard) -> None:
    user, session = incoming.member, incoming.session
    named = mentioned_customer(session, user, heard.text)
    customers = ([named] if named else []) + [
        c for c in recent_customers(session, user) if named is None or c.id != named.id
    ]
    if not customers:
        incoming.reply_text(f"听到的是：「{heard.text}」\n您名下还没有客户，暂时无法记为触点。")
        return
    task_id = f"{PREFIX}-{user.id}-{incoming.inbound.id}"
    data = {
        "attachment_id": attachment.id,
        "summary": draft.summary,
        "next_action": draft.next_action,
        "next_action_due": draft.next_action_due.isoformat() if draft.next_action_due else None,
        "emotion": draft.emotion,
        "guessed_fields": ["summary", *draft.guessed_fields],
        "engine": heard.engine,
    }
    capture = CaptureDraft(
        user_id=user.id,
        kind=DraftKind.TOUCHPOINT,
        step=DraftStep.CHOOSE_CUSTOMER,
        task_id=task_id,
        opened_at=heard.spoken_at,
        data=data,
    )
    session.add(capture)
    session.flush()
    due = due_text(draft.next_action_due, incoming) if draft.next_action else None
    card = incoming.reply_card(draft_card(task_id, draft, due, customers[:MAX_CUSTOMER_BUTTONS], named is not None))
    capture.data = {**data, "card_idempotency_key": card.idempotency_key}
    incoming.note = f"voice transcribed by {heard.engine}; draft offered"


def mentioned_customer(session: Any, user: User, text: str) -> Customer | None:
    """The rep's customer whose name the note says (e.g. "今天去华山医院…"), when exactly one fits well."""
    owned = session.scalars(select(Customer).where(Customer.owner_id == user.id, Customer.deleted_at.is_(None)))
    scored = [(fuzz.partial_ratio(c.name, text), c) for c in owned if len(c.name) >= 3]
    hits = [c for score, c in scored if score >= MENTION_SCORE]
    return hits[0] if len(hits) == 1 else None


def _short(text: str | None, limit: int) -> str:
    text = text or ""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def draft_card(task_id: str, draft: Any, due: str | None, customers: list[Customer], named: bool) -> dict[str, Any]:
    rows = [
        {
            "keyname": "下一步",
            "value": _short(f"{draft.next_action}（{due}）" if due else draft.next_action, 30)
            if draft.next_action
            else "（没听出来）",
        },
        {"keyname": "情绪", "value": f"{draft.emotion}（猜测）" if draft.emotion else "中性（默认）"},
    ]
    hint = "提到的客户排在第一个" if named else "最近联系的客户在前"
    return {
        "card_type": "button_interaction",
        "source": cards.SOURCE,
        "main_title": {
            "title": "语音草稿 · 点客户即保存为触点",
            "desc": f"识别可能有误，保存后可在客户端的客户页里修改；{hint}",
        },
        "sub_title_text": "听到：" + _short(draft.summary, 115),
        "horizontal_content_list": rows,
        "task_id": task_id,
        "button_list": [
            {"text": _short(c.name, cards.BUTTON_TEXT), "style": 1, "key": f"{PREFIX}:cust:{c.id}"} for c in customers
        ]
        + [{"text": "不保存", "style": 2, "key": f"{PREFIX}:drop"}],
    }


@router.card_button(PREFIX)
def tapped(incoming: Incoming) -> None:
    _, what, value = ((incoming.message.event_key or "") + "::").split(":", 2)
    value = value.rstrip(":")
    draft = drafts.by_task(incoming.session, incoming.member, incoming.message.get("TaskId"))
    if draft is None or draft.step is not DraftStep.CHOOSE_CUSTOMER:
        incoming.reply_text(STALE_CARD)
        incoming.note = f"stale voice draft tap {incoming.message.event_key}"
    elif what == "cust" and value.isdigit():
        _save(incoming, draft, int(value))
    else:
        draft.step = DraftStep.DONE
        incoming.show_card(
            {
                "card_type": "button_interaction",
                "source": cards.SOURCE,
                "main_title": {"title": "语音草稿未保存", "desc": "语音仍保存在附件中；要记触点请点菜单「记触点」"},
                "task_id": draft.task_id,
                "button_list": [{"text": "记触点", "style": 1, "key": "tp:new"}],
            },
        )


def _save(incoming: Incoming, draft: CaptureDraft, customer_id: int) -> None:
    user, session, data = incoming.member, incoming.session, dict(draft.data or {})
    emotion = Emotion.from_label(data["emotion"]) if data.get("emotion") else None
    due = datetime.fromisoformat(data["next_action_due"]) if data.get("next_action_due") else None
    guessed = [*data.get("guessed_fields", []), "type"] + ([] if emotion else ["emotion"])
    touchpoint = log_touchpoint(
        session,
        user,
        customer_id=customer_id,
        type=usual_type(session, user),
        emotion=emotion or Emotion.NEUTRAL,
        summary=data.get("summary") or "",
        next_action=data.get("next_action"),
        next_action_due=due if data.get("next_action") else None,
        occurred_at=min(draft.opened_at, clock.now()),
        source=CaptureSource.VOICE,
        form_opened_at=draft.opened_at,
        attachment_ids=[data["attachment_id"]],
        guessed_fields=list(dict.fromkeys(guessed)),
    )
    draft.customer_id, draft.touchpoint_id = touchpoint.customer_id, touchpoint.id
    # Saved: like a card's second tap, the text or voice that follows within the window completes it.
    draft.step, draft.expires_at = DraftStep.AWAITING_SUMMARY, clock.now() + drafts.window(session)
    incoming.show_card(saved_card(incoming, draft, touchpoint))
    incoming.note = f"voice draft saved as touchpoint {touchpoint.id}"
