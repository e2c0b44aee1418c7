"""建商机: an opportunity from the rep's latest touchpoint, asking only for what is missing.

The touchpoint gives the customer; the rep supplies product line and expected amount, in one
reply ("CT球管 58万") or one at a time — the bot asks again only for the part still missing.
"""

from __future__ import annotations

import re

from sqlalchemy import select

from salesnav import clock
from salesnav.bot.capture import drafts
from salesnav.bot.cards import deal_card
from salesnav.bot.router import Incoming, router
from salesnav.handlers.errors import DomainError
from salesnav.handlers.money import yuan_to_fen
from salesnav.handlers.opportunities import create_from_touchpoint, next_stage
from salesnav.models import Opportunity, OpportunityStatus, Touchpoint
from salesnav.models.messaging import CaptureDraft, DraftKind, DraftStep

MENU_KEY = "OPPORTUNITY_NEW"
AMOUNT = re.compile(r"(?<![A-Za-z0-9.])(\d[\d,，]*(?:\.\d+)?)\s*(万|千|亿)?\s*(元|块)?(?![A-Za-z0-9.])")


def latest_touchpoint(incoming: Incoming) -> Touchpoint:
    user = incoming.member
    touchpoint = incoming.session.scalars(
        select(Touchpoint)
        .where(Touchpoint.rep_id == user.id, Touchpoint.deleted_at.is_(None))
        .order_by(Touchpoint.occurred_at.desc(), Touchpoint.id.desc())
        .limit(1)
    ).first()
    if touchpoint is None:
        raise DomainError("还没有触点记录。请先点「记触点」记一次客户沟通，再建商机。")
    if touchpoint.opportunity_id is not None:
        linked = incoming.session.get(Opportunity, touchpoint.opportunity_id)
        if linked is not None and linked.status is OpportunityStatus.OPEN:
            raise DomainError(
                f"最近一条触点（{touchpoint.customer.name}）已关联商机「{linked.title}」。新商机请先记一条新的触点。"
            )
    return touchpoint


@router.event("click", key=MENU_KEY)
def start(incoming: Incoming) -> None:
    touchpoint = latest_touchpoint(incoming)
    drafts.close_waiting(incoming.session, incoming.member)
    drafts.open_draft(
        incoming.session,
        incoming.member,
        DraftKind.OPPORTUNITY,
        DraftStep.AWAITING_DETAILS,
        touchpoint_id=touchpoint.id,
        customer_id=touchpoint.customer_id,
        expires_at=clock.now() + drafts.window(incoming.session),
    )
    incoming.reply_text(
        f"为「{touchpoint.customer.name}」建商机（基于最近一条触点）。\n请回复产品线和预计金额，例如：CT球管 58万"
    )


def from_command(incoming: Incoming, text: str) -> None:
    """`商机 CT球管 58万`: everything in one message; if something is missing, ask for just that."""
    touchpoint = latest_touchpoint(incoming)
    drafts.close_waiting(incoming.session, incoming.member)
    draft = drafts.open_draft(
        incoming.session,
        incoming.member,
        DraftKind.OPPORTUNITY,
        DraftStep.AWAITING_DETAILS,
        touchpoint_id=touchpoint.id,
        customer_id=touchpoint.customer_id,
        expires_at=clock.now() + drafts.window(incoming.session),
    )
    fill_details(incoming, draft, text)


def fill_details(incoming: Incoming, draft: CaptureDraft, text: str) -> None:
    product_line, amount_fen = parse_details(text)
    data = dict(draft.data or {})
    if product_line:
        data["product_line"] = product_line
    if amount_fen:
        data["amount_fen"] = amount_fen
    draft.data = data
    missing = [label for key, label in (("product_line", "产品线"), ("amount_fen", "预计金额")) if not data.get(key)]
    if missing:
        draft.expires_at = clock.now() + drafts.window(incoming.session)
        example = "CT球管" if missing == ["产品线"] else "58万" if missing == ["预计金额"] else "CT球管 58万"
        incoming.reply_text(f"还差{'和'.join(missing)}，请回复，例如：{example}")
        return
    assert draft.touchpoint_id is not None
    touchpoint = incoming.session.get(Touchpoint, draft.touchpoint_id)
    assert touchpoint is not None
    opp = create_from_touchpoint(
        incoming.session,
        incoming.member,
        touchpoint_id=touchpoint.id,
        title=f"{touchpoint.customer.name}·{data['product_line']}"[:200],
        product_line=data["product_line"],
        expected_amount_fen=int(data["amount_fen"]),
    )
    draft.opportunity_id, draft.step = opp.id, DraftStep.DONE
    following = next_stage(incoming.session, opp.stage)
    task_id = f"deal-{opp.id}-{incoming.inbound.id}"
    incoming.reply_card(deal_card(opp, title="✅ 已创建商机", next_stage=following, task_id=task_id))


def parse_details(text: str) -> tuple[str | None, int | None]:
    """("CT球管 58万") → ("CT球管", 58_000_000 fen). Either part may be missing."""
    text = text.strip()
    # "64排CT 300万": a number with a unit is the amount; otherwise the last number is.
    found = list(AMOUNT.finditer(text))
    match = next((m for m in found if m.group(2) or m.group(3)), found[-1] if found else None)
    amount_fen = None
    if match:
        amount_fen = yuan_to_fen(match.group(1) + (match.group(2) or ""))
        text = (text[: match.start()] + " " + text[match.end() :]).strip()
    product_line = re.sub(r"^(产品线|产品)\s*[:：]?", "", text).strip(" ，,：:") or None
    return (product_line[:100] if product_line else None), amount_fen
