"""推进商机 in chat: 「推进 六安市立医院 方案演示」 or the 推进 button on a deal's card.

The bot lists what the checklists of the stages on the way still lack and asks for one item at a time: a text
reply, a photo or a file, or 已完成 where a tick is allowed. What is given is kept on the draft; once nothing is
missing the move goes through `advance_stage`, the same handler the API calls, with all of it as evidence — so
a deal moves in chat only as it would anywhere else (the credit check, the collaboration ticket, the audit).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from salesnav import clock
from salesnav.bot.capture import drafts
from salesnav.bot.cards import SOURCE, deal_card
from salesnav.bot.router import Incoming, router
from salesnav.handlers.checklists import Evidence, item_prompt, outstanding_items
from salesnav.handlers.customers import find_by_name
from salesnav.handlers.errors import DomainError
from salesnav.handlers.money import fen_to_yuan_text
from salesnav.handlers.opportunities import advance_stage, check_move, next_stage
from salesnav.handlers.scope import opportunity_for, owned_by_visible
from salesnav.handlers.stages import stage_by_code
from salesnav.models import (
    Attachment,
    ChecklistItem,
    ChecklistItemKind,
    Opportunity,
    OpportunityStatus,
    Stage,
    User,
)
from salesnav.models.messaging import CaptureDraft, DraftKind, DraftStep

WORDS = ("推进", "推进商机")
BUTTON_PREFIX = "adv"
DONE_WORDS = ("已完成", "完成", "好了", "已勾选", "是", "有")
CANCEL_WORDS = ("取消", "算了", "不推进了")
EXAMPLE = "推进 协和医院 方案演示"


def from_command(incoming: Incoming, words: list[str]) -> None:
    """`推进 <客户> [阶段]`: the customer's open deal, to the named stage or the next one."""
    session, user = incoming.session, incoming.member
    customer = find_by_name(session, user, words[0])
    deals = list(
        session.scalars(
            select(Opportunity)
            .where(
                Opportunity.customer_id == customer.id,
                Opportunity.status == OpportunityStatus.OPEN,
                Opportunity.deleted_at.is_(None),
                owned_by_visible(session, user, Opportunity.owner_id),
            )
            .order_by(Opportunity.last_follow_up_at.desc(), Opportunity.id.desc())
        )
    )
    if not deals:
        raise DomainError(f"「{customer.name}」没有进行中的商机。先发「商机 产品线 金额」建一个。")
    stage_ref = " ".join(words[1:]).strip() or None
    if len(deals) > 1:
        incoming.reply_card(_choose_deal_card(incoming, customer.name, deals, stage_ref))
        return
    start(incoming, deals[0], stage_by_code(session, stage_ref) if stage_ref else None)


@router.card_button(BUTTON_PREFIX)
def on_button(incoming: Incoming) -> None:
    """adv:go:<deal>:<stage code or ->"""
    parts = (incoming.message.event_key or "").split(":")
    if len(parts) != 4 or parts[1] != "go" or not parts[2].isdigit():
        incoming.ignored, incoming.note = True, "unknown stage-move button"
        return
    opp = opportunity_for(incoming.session, incoming.member, int(parts[2]))
    start(incoming, opp, stage_by_code(incoming.session, parts[3]) if parts[3] != "-" else None)


def start(incoming: Incoming, opp: Opportunity, target: Stage | None) -> None:
    """Ask for what the move lacks, or move at once when nothing is missing."""
    session, user = incoming.session, incoming.member
    target = target or next_stage(session, opp.stage)
    assert target is not None  # next_stage refuses (DomainError) rather than answer None
    check_move(opp, target)
    missing = outstanding_items(session, opp, opp.stage, target)
    drafts.close_waiting(session, user)
    if not missing:
        _move(incoming, opp, target, {})
        return
    draft = drafts.open_draft(
        session,
        user,
        DraftKind.STAGE_MOVE,
        DraftStep.AWAITING_DETAILS,
        opportunity_id=opp.id,
        customer_id=opp.customer_id,
        expires_at=clock.now() + drafts.window(session),
    )
    draft.data = {"to_stage": target.code, "pending": [item.id for item in missing], "evidence": {}}
    listed = "\n".join(f"{i}. {item.stage.name} · {item.name}" for i, item in enumerate(missing, start=1))
    incoming.reply_text(
        f"推进「{opp.title}」到「{target.name}」，还需补齐 {len(missing)} 项检查清单：\n{listed}\n\n"
        f"先发第 1 项 {item_prompt(missing[0])}。\n不推进了请回复「取消」。"
    )


def waiting(incoming: Incoming) -> CaptureDraft | None:
    draft = drafts.waiting_for_message(incoming.session, incoming.member)
    return draft if draft is not None and draft.kind is DraftKind.STAGE_MOVE else None


def give_text(incoming: Incoming, draft: CaptureDraft, content: str) -> None:
    """A text reply while a move waits: cancel, tick, or the current item's words."""
    if content in CANCEL_WORDS:
        draft.step = DraftStep.DONE
        opp = incoming.session.get(Opportunity, draft.opportunity_id)
        incoming.reply_text(f"已取消推进，商机仍在「{opp.stage.name if opp else '原阶段'}」。")
        return
    item = _current_item(incoming, draft)
    if item.kind is ChecklistItemKind.FILE:
        draft.expires_at = clock.now() + drafts.window(incoming.session)
        incoming.reply_text(f"还差 {item_prompt(item)}，文字不能代替。不推进了请回复「取消」。")
        return
    if item.kind is ChecklistItemKind.CHECKBOX and content in DONE_WORDS:
        _keep(draft, item, {"checked": True})
    else:
        _keep(draft, item, {"text": content[:2000]})
    _continue(incoming, draft)


def waiting_for_file(session: Any, user: User) -> CaptureDraft | None:
    """The user's move waiting for a file item (a photo or file they send next is that item)."""
    draft = drafts.waiting_for_message(session, user)
    if draft is None or draft.kind is not DraftKind.STAGE_MOVE or not draft.data.get("pending"):
        return None
    item = session.get(ChecklistItem, draft.data["pending"][0])
    return draft if item is not None and item.kind is ChecklistItemKind.FILE else None


def give_file(incoming: Incoming, draft: CaptureDraft, attachment: Attachment) -> None:
    """A photo or file sent while a move waits for a file item."""
    item = _current_item(incoming, draft)
    _keep(draft, item, {"attachment_id": attachment.id})
    _continue(incoming, draft)


def _current_item(incoming: Incoming, draft: CaptureDraft) -> ChecklistItem:
    item = incoming.session.get(ChecklistItem, draft.data["pending"][0])
    assert item is not None
    return item


def _keep(draft: CaptureDraft, item: ChecklistItem, given: dict[str, Any]) -> None:
    data = dict(draft.data)
    data["evidence"] = {**data.get("evidence", {}), str(item.id): given}
    data["pending"] = [pending for pending in data["pending"] if pending != item.id]
    draft.data = data


def _continue(incoming: Incoming, draft: CaptureDraft) -> None:
    session = incoming.session
    draft.expires_at = clock.now() + drafts.window(session)
    pending = draft.data["pending"]
    opp = opportunity_for(session, incoming.member, draft.opportunity_id or 0)
    target = stage_by_code(session, draft.data["to_stage"])
    if pending:
        item = session.get(ChecklistItem, pending[0])
        assert item is not None
        incoming.reply_text(f"✅ 已收到。还差 {len(pending)} 项，下一项 {item_prompt(item)}。")
        return
    evidence = {int(item_id): Evidence(**given) for item_id, given in draft.data["evidence"].items()}
    draft.step = DraftStep.DONE
    _move(incoming, opp, target, evidence)


def _move(incoming: Incoming, opp: Opportunity, target: Stage, evidence: dict[int, Evidence]) -> None:
    session = incoming.session
    advance_stage(session, incoming.member, opportunity_id=opp.id, to_stage=target.code, evidence=evidence)
    following = next_stage(session, target, missing_ok=True) if opp.status is OpportunityStatus.OPEN else None
    if following is None:
        incoming.reply_text(f"✅ 商机「{opp.title}」已推进到「{target.name}」。")
        return
    task_id = f"deal-{opp.id}-{incoming.inbound.id}"
    incoming.reply_card(deal_card(opp, title=f"✅ 已推进到「{target.name}」", next_stage=following, task_id=task_id))


def _choose_deal_card(
    incoming: Incoming, customer_name: str, deals: list[Opportunity], stage_ref: str | None
) -> dict[str, Any]:
    stage = stage_by_code(incoming.session, stage_ref).code if stage_ref else "-"
    return {
        "card_type": "button_interaction",
        "source": SOURCE,
        "main_title": {"title": f"推进 · {customer_name}", "desc": "该客户有多个进行中的商机，点选要推进的一个"},
        "task_id": f"adv-{incoming.inbound.id}",
        "button_list": [
            {
                "text": f"{deal.product_line}·{fen_to_yuan_text(deal.expected_amount_fen)}"[:10],
                "style": 1,
                "key": f"{BUTTON_PREFIX}:go:{deal.id}:{stage}",
            }
            for deal in deals[:6]
        ],
    }
