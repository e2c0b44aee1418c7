"""解除冻结 in the chat: a director lifts a credit freeze from the freeze card, then gives the reason.

1. The freeze card a director (or admin) receives with a credit-check alert carries 解除冻结
   ("unfreeze:ask:<opportunity id>"; `card_buttons`). Nobody else gets the button; a forged tap is refused
   in Chinese by the handler.
2. The tap asks for the reason and records a DomainEvent ("approval.unfreeze_reason_asked"), so whichever
   worker takes the next message sees the question — the way 批注 keeps its picked alert.
3. The director's next text within the capture window (setting capture.summary_window_minutes) is the reason:
   `lift_freeze` (salesnav/handlers/approvals.py) lifts, audits and tells rep and manager. 取消 drops the
   question; a voice note gets a request for text, since a reason on the audit trail should be read as given.

The text and voice routes call `claim(incoming)` before 批注: the director has just received the freeze alert,
and without this their reason would be taken as a note on it.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from salesnav import clock
from salesnav.bot.capture import drafts
from salesnav.bot.cards import SOURCE
from salesnav.bot.router import Incoming, router
from salesnav.handlers.approvals import InvalidReason, frozen_deal_for, lift_freeze, may_lift_freeze
from salesnav.handlers.errors import DomainError
from salesnav.handlers.records import record_event
from salesnav.handlers.rules import credit_check
from salesnav.models import Alert, DomainEvent, Opportunity, User

ASKED = "approval.unfreeze_reason_asked"
CLOSED = "approval.unfreeze_reason_closed"  # cancelled, or refused for good
LIFTED = "opportunity.approval_unfrozen"  # recorded by lift_freeze
CANCEL_WORDS = ("取消", "算了", "不解除")
BUTTON = "解除冻结"


def card_buttons(alert: Alert, user: User) -> list[dict[str, Any]]:
    """解除冻结 on an open credit-check alert's card, for those who may lift a freeze."""
    if alert.rule != credit_check.CODE or alert.subject_type != "opportunity" or not may_lift_freeze(user):
        return []
    return [{"text": BUTTON, "style": 3, "key": f"unfreeze:ask:{alert.subject_id}"}]


@router.card_button("unfreeze")
def on_button(incoming: Incoming) -> None:
    _prefix, action, *rest = [*(incoming.message.event_key or "").split(":"), "", ""]
    if action != "ask" or not rest[0].isdigit():
        incoming.reply_text("这个按钮已失效，请重新打开最新的消息。")
        return
    user, session = incoming.member, incoming.session
    opp = frozen_deal_for(session, user, int(rest[0]))  # refused (in Chinese) unless this user may lift it now
    record_event(session, ASKED, "opportunity", opp.id, user)
    minutes = int(drafts.window(session).total_seconds() // 60)
    if code := incoming.message.get("ResponseCode"):
        incoming.update_card(code, _asked_card(incoming.message.get("TaskId") or f"unfreeze-{opp.id}", opp, minutes))
    incoming.reply_text(
        f"请在 {minutes} 分钟内直接回复一条文字，写明解除客户「{opp.customer.name}」的商机「{opp.title}」"
        f"审批冻结的理由（将记入审计，并通知{opp.owner.name}和其主管）。回复「取消」则不解除。"
    )


def _asked_card(task_id: str, opp: Opportunity, minutes: int) -> dict[str, Any]:
    return {
        "card_type": "button_interaction",
        "source": SOURCE,
        "main_title": {"title": "解除审批冻结 · 请发送理由", "desc": f"{opp.customer.name}·{opp.title}"[:40]},
        "sub_title_text": f"请在 {minutes} 分钟内直接发一条文字作为理由；回复「取消」则不解除",
        "task_id": task_id,
        "button_list": [{"text": "等待理由…", "style": 2, "key": f"unfreeze:ask:{opp.id}"}],
    }


def pending(session: Session, user: User) -> DomainEvent | None:
    """The question this user was asked within the window and has not answered, on a deal still frozen."""
    asked = session.scalars(
        select(DomainEvent)
        .where(
            DomainEvent.kind == ASKED,
            DomainEvent.actor_id == user.id,
            DomainEvent.occurred_at >= clock.now() - drafts.window(session),
        )
        .order_by(DomainEvent.id.desc())
        .limit(1)
    ).first()
    if asked is None:
        return None
    answered = session.scalars(
        select(DomainEvent.id)
        .where(
            DomainEvent.kind.in_((CLOSED, LIFTED)),
            DomainEvent.actor_id == user.id,
            DomainEvent.subject_id == asked.subject_id,
            DomainEvent.id > asked.id,
        )
        .limit(1)
    ).first()
    opp = session.get(Opportunity, asked.subject_id)
    return asked if answered is None and opp is not None and opp.approval_frozen else None


def claim(incoming: Incoming) -> bool:
    """Whether this message answers a 解除冻结 question (handled here) rather than anything else."""
    user = incoming.user
    if not may_lift_freeze(user) or incoming.message.msg_type not in ("text", "voice"):
        return False
    assert user is not None
    session = incoming.session
    asked = pending(session, user)
    if asked is None:
        return False
    if incoming.message.msg_type == "voice":
        incoming.reply_text("解除冻结的理由请用文字发送（将原样记入审计）。回复「取消」则不解除。")
        return True
    content = (incoming.message.get("Content") or "").strip()
    if content in CANCEL_WORDS:
        record_event(session, CLOSED, "opportunity", asked.subject_id, user, outcome="cancelled")
        incoming.reply_text("已取消，审批仍处于冻结状态。")
        return True
    try:
        lifted = lift_freeze(session, user, opportunity_id=asked.subject_id, reason=content, channel="chat")
    except InvalidReason as exc:  # nothing was written: the same question stands
        incoming.reply_text(f"{exc.message}，请重新发送理由，或回复「取消」。")
        return True
    except DomainError as exc:  # no longer theirs to lift (nothing was written): close the question, say why
        record_event(session, CLOSED, "opportunity", asked.subject_id, user, outcome="refused")
        incoming.reply_text(exc.message)
        return True
    incoming.reply_text(f"✅ {lifted.summary()}")
    return True
