"""Lift a frozen approval (大单信用校验): only a sales director, only with a reason, kept in the audit trail."""

from __future__ import annotations

from sqlalchemy.orm import Session

from salesnav import clock
from salesnav.handlers.access import opportunity_for
from salesnav.handlers.errors import DomainError, Forbidden
from salesnav.handlers.records import audit, record_event
from salesnav.handlers.rules import credit_check, engine
from salesnav.handlers.rules.texts import yuan
from salesnav.models import Opportunity, Role, User


def lift_freeze(session: Session, actor: User, *, opportunity_id: int, reason: str) -> Opportunity:
    if actor.role is not Role.DIRECTOR:
        raise Forbidden("只有销售总监可以解除审批冻结")
    reason = (reason or "").strip()
    if not reason:
        raise DomainError("请填写解除冻结的理由")
    if len(reason) > 500:
        raise DomainError("理由过长（最多 500 字）")
    opp = opportunity_for(session, actor, opportunity_id)
    if not opp.approval_frozen:
        raise DomainError("该商机的审批未被冻结")
    now = clock.now()
    audit(
        session,
        actor,
        "opportunity",
        opp.id,
        "approval_unfreeze",
        {"approval_frozen": True, "reason": opp.approval_frozen_reason},
        {"approval_frozen": False, "lift_reason": reason},
    )
    opp.approval_frozen, opp.approval_frozen_reason = False, None
    rep = opp.owner
    manager = engine.manager_of(session, rep)
    for alert in engine.open_alerts_for(session, credit_check.CODE, "opportunity", opp.id):
        engine.set_detail(alert, lifted_by=actor.id, lift_reason=reason)
        engine.resolve(session, alert, now=now, by_id=actor.id, resolution=f"总监解除冻结：{reason}")
        for user in engine.distinct_users(rep, manager):
            engine.notify(
                session,
                alert,
                user,
                f"【审批冻结已解除】销售总监{actor.name}已解除客户「{opp.customer.name}」的商机「{opp.title}」"
                f"（预计 {yuan(opp.expected_amount_fen)}）的审批冻结，理由：{reason}。可以重新提交合同审批。",
                tag="lifted",
            )
    session.flush()
    record_event(session, "opportunity.approval_unfrozen", "opportunity", opp.id, actor, reason=reason)
    return opp
