"""Lift a frozen approval (大单信用校验): a sales director or an admin, with a reason, audited, rep and manager told.

Every channel goes through `lift_freeze`: the 解除冻结 button on the freeze card in the chat
(bot/capture/unfreeze.py), the deal's page (pages/dashboards/views.py), the API
(`POST /api/v1/opportunities/{id}/unfreeze`) and the operators' command (`salesnav deals unfreeze`).

Does the same approval re-check credit? Not at the same amount. Lifting keeps a CreditWaiver on the deal with
the expected amount the director saw; the credit check (rules/credit_check.py) lets the deal enter 合同审批,
and move on from it, without asking finance again while its expected amount is that amount — the director
accepted that risk with a reason, and asking again would only freeze the deal again. Entering 合同审批 does not
use the waiver up: a deal enters it once (stages never go back), and moving on to 赢单 at the same amount is
the same risk. Another amount is a new question for finance: the next attempt is checked afresh and may
freeze again (a new alert), which a director may lift again. docs/credit-check.md says the same for users.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from salesnav import clock
from salesnav.handlers.errors import DomainError, Forbidden
from salesnav.handlers.records import audit, record_event
from salesnav.handlers.rules import credit_check, engine
from salesnav.handlers.rules.credit_check import may_lift_freeze
from salesnav.handlers.rules.texts import yuan
from salesnav.handlers.scope import opportunity_for
from salesnav.models import CreditWaiver, Opportunity, User

ONLY_DIRECTORS = "只有销售总监或管理员可以解除审批冻结"
REASON_LIMIT = 500


class InvalidReason(DomainError):
    """The reason is missing or too long: the same person may simply give it again."""


class NotFrozen(DomainError):
    code = "conflict"


def frozen_deal_for(session: Session, actor: User, opportunity_id: int) -> Opportunity:
    """The frozen deal `actor` may lift now; Forbidden, NotFound or NotFrozen otherwise (nothing written)."""
    if not may_lift_freeze(actor):
        raise Forbidden(ONLY_DIRECTORS)
    opp = opportunity_for(session, actor, opportunity_id)
    if not opp.approval_frozen:
        raise NotFrozen("该商机的审批未被冻结（可能已被解除）")
    return opp


def clean_reason(reason: str | None) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise InvalidReason("请填写解除冻结的理由")
    if len(reason) > REASON_LIMIT:
        raise InvalidReason(f"理由过长（最多 {REASON_LIMIT} 字）")
    return reason


@dataclass(frozen=True)
class LiftedFreeze:
    opportunity: Opportunity
    waiver: CreditWaiver
    told: list[User]  # who was sent the news (rep and manager)

    def summary(self) -> str:
        """The confirmation shown to whoever lifted it, in every channel."""
        opp = self.opportunity
        told = "、".join(u.name for u in self.told) or "无人（负责人不在职）"
        return (
            f"已解除客户「{opp.customer.name}」的商机「{opp.title}」的审批冻结，理由已记录，已通知{told}。"
            f"按 {yuan(self.waiver.amount_fen)} 重新提交合同审批时不再做信用校验（金额变更后将重新校验）。"
        )


def lift_freeze(
    session: Session, actor: User, *, opportunity_id: int, reason: str, channel: str | None = None
) -> LiftedFreeze:
    """Lift the deal's credit freeze: refused before anything is written unless `actor` may (director or
    admin, the deal in their scope, frozen) and gives a reason. Resolves the freeze alert, keeps the waiver,
    audits who, why and through which channel, and queues the news to rep and manager (sent after commit)."""
    if not may_lift_freeze(actor):
        raise Forbidden(ONLY_DIRECTORS)
    reason = clean_reason(reason)
    opp = frozen_deal_for(session, actor, opportunity_id)
    now = clock.now()
    frozen_reason = opp.approval_frozen_reason
    waiver = CreditWaiver(
        opportunity_id=opp.id,
        amount_fen=opp.expected_amount_fen,
        waived_by_id=actor.id,
        reason=reason,
        frozen_reason=frozen_reason,
        waived_at=now,
    )
    session.add(waiver)
    opp.approval_frozen, opp.approval_frozen_reason = False, None
    session.flush()
    audit(
        session,
        actor,
        "opportunity",
        opp.id,
        "approval_unfreeze",
        {"approval_frozen": True, "reason": frozen_reason},
        {
            "approval_frozen": False,
            "lift_reason": reason,
            "waived_amount_fen": waiver.amount_fen,
            "waiver_id": waiver.id,
            "channel": channel,
        },
    )
    who = f"{actor.role.label}{actor.name}"
    for alert in engine.open_alerts_for(session, credit_check.CODE, "opportunity", opp.id):
        engine.set_detail(alert, lifted_by=actor.id, lift_reason=reason, waiver_id=waiver.id)
        engine.resolve(session, alert, now=now, by_id=actor.id, resolution=f"{who}解除冻结：{reason}")
    rep = opp.owner
    told = [u for u in engine.distinct_users(rep, engine.manager_of(session, rep)) if u.id != actor.id]
    text = (
        f"【审批冻结已解除】{who}已解除客户「{opp.customer.name}」的商机「{opp.title}」"
        f"（预计 {yuan(opp.expected_amount_fen)}）的审批冻结，理由：{reason}。"
        f"可以重新提交合同审批，按此金额不再做信用校验（金额变更后将重新校验）。"
    )
    told = [u for u in told if engine.tell(session, u, text, key=f"credit_waiver:{waiver.id}:{u.wecom_userid}")]
    record_event(
        session,
        "opportunity.approval_unfrozen",
        "opportunity",
        opp.id,
        actor,
        reason=reason,
        waiver_id=waiver.id,
        amount_fen=waiver.amount_fen,
        channel=channel,
    )
    return LiftedFreeze(opp, waiver, told)
