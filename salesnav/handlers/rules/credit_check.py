"""Rule 4, big-deal credit check (大单信用校验): an opportunity over 500,000 CNY entering 合同审批.

The check runs synchronously inside `advance_stage`, before the stage changes. The customer's
on-time payment rate over 12 months (finance system, or our receivables) below 85 % → the
attempt is refused with the risk points and the approval is frozen; rep and manager are told, and the sales
director gets the freeze with a 解除冻结 button. Only a director (or an admin) lifts the freeze, with a
reason (salesnav/handlers/approvals.py); that keeps a CreditWaiver for the deal's amount, and while the amount
is unchanged the check lets the deal through without asking finance again (`covering_waiver`).

Why the freeze is written by a job: the refusal is an exception, and the caller's unit of work
rolls back on it, which would take a freeze written in the same transaction with it. Writing
it in a second connection from inside the handler could wait forever on SQLite behind the
caller's own write lock. So the refusal enqueues `freeze_approval` (own transaction, idempotent
per freeze episode) and raises; the freeze and its messages survive whatever the caller does.

A finance system that is down or slow refuses the attempt too (the approval waits and says
why) without freezing anything: the same attempt goes through once it answers well.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from salesnav import clock
from salesnav.finance import FinanceUnavailable, payment_history
from salesnav.handlers import rule_settings
from salesnav.handlers.deal_words import customer_and_deal
from salesnav.handlers.errors import DomainError
from salesnav.handlers.records import audit, record_event
from salesnav.handlers.rules import engine
from salesnav.handlers.rules.engine import Rule
from salesnav.handlers.rules.texts import yuan
from salesnav.jobs.queue import enqueue
from salesnav.models import Alert, AlertState, CreditWaiver, Opportunity, Role, User, setting_areas
from salesnav.settings import current_settings

LIFT_ROLES = frozenset({Role.DIRECTOR, Role.ADMIN})


def may_lift_freeze(user: User | None) -> bool:
    """Who may lift a credit freeze (the one rule every channel asks before offering the action)."""
    return user is not None and user.role in LIFT_ROLES


# Jobs sit above the use cases: named by their path ("module:function"), never imported here.
FREEZE_APPROVAL_JOB = "salesnav.jobs.rules:freeze_approval"

CODE = "credit_check"
LIFT_HINT = "如确需继续，请点卡片上的「解除冻结」并写明理由，或在商机页面解除。"


class ApprovalFrozen(DomainError):
    code = "approval_frozen"


class CreditCheckPending(DomainError):
    code = "credit_check_pending"


def _episode(session: Session, opportunity_id: int) -> str:
    lifted = session.scalar(
        select(func.count(Alert.id)).where(
            Alert.subject_type == "opportunity",
            Alert.subject_id == opportunity_id,
            Alert.rule == CODE,
            Alert.state == AlertState.RESOLVED,
        )
    )
    return f"freeze{(lifted or 0) + 1}"


def latest_waiver(session: Session, opportunity_id: int) -> CreditWaiver | None:
    """The deal's most recent lifted freeze (CreditWaiver), whatever amount it was for."""
    return session.scalars(
        select(CreditWaiver)
        .where(CreditWaiver.opportunity_id == opportunity_id)
        .order_by(CreditWaiver.waived_at.desc(), CreditWaiver.id.desc())
        .limit(1)
    ).first()


def covering_waiver(session: Session, opp: Opportunity) -> CreditWaiver | None:
    """The director's waiver that still covers the deal: the latest one, if the deal's expected amount is the
    amount it was given for. Another amount is checked afresh (why: salesnav/handlers/approvals.py)."""
    latest = latest_waiver(session, opp.id)
    return latest if latest is not None and latest.amount_fen == opp.expected_amount_fen else None


def check_before_contract_approval(session: Session, actor: User, opp: Opportunity) -> None:
    """Raise `ApprovalFrozen` or `CreditCheckPending` when the deal may not enter 合同审批 now."""
    if not rule_settings.credit(session).enabled:
        return
    threshold = rule_settings.credit(session).amount_threshold_fen
    if opp.expected_amount_fen <= threshold:
        return
    if (waiver := covering_waiver(session, opp)) is not None:
        record_event(
            session,
            "credit.check_waived",
            "opportunity",
            opp.id,
            actor,
            waiver_id=waiver.id,
            amount_fen=waiver.amount_fen,
            waived_by_id=waiver.waived_by_id,
        )
        return

    now = clock.now()
    months = rule_settings.credit(session).window_months
    try:
        history = payment_history(
            session,
            opp.customer,
            as_of=now,
            months=months,
            api_url=current_settings().finance_api_url,
            timeout=rule_settings.credit(session).finance_timeout_seconds,
        )
    except FinanceUnavailable as exc:
        raise CreditCheckPending(
            f"{exc.reason}，大单信用校验未完成，合同审批暂缓，请稍后重试", reason=exc.reason
        ) from exc
    minimum = rule_settings.credit(session).min_on_time_rate
    rate = history.on_time_rate
    if rate is None or rate >= minimum:
        record_event(
            session,
            "credit.checked",
            "opportunity",
            opp.id,
            actor,
            on_time_rate=rate,
            receivables=history.receivables,
            source=history.source,
            passed=True,
        )
        return
    risks = history.risk_points()
    reason = (
        f"客户近 {months} 个月按时回款率 {rate:.1%}，低于 {minimum:.0%}"
        f"（{history.receivables} 笔应收中 {len(history.late)} 笔逾期）"
    )
    episode = _episode(session, opp.id)
    # Not after commit: the caller is about to roll back (see the module docstring).
    enqueue(
        FREEZE_APPROVAL_JOB,
        opp.id,
        actor.id,
        episode,
        reason,
        risks,
        key=f"credit_freeze:{opp.id}:{episode}",
        queue="rules",
    )
    raise ApprovalFrozen(
        f"大单信用校验未通过，审批已冻结：{reason}。风险点：{'；'.join(risks)}。如需继续，请联系销售总监解除冻结。",
        on_time_rate=rate,
        risk_points=risks,
    )


def freeze(
    session: Session, opportunity_id: int, actor_id: int, episode: str, reason: str, risks: list[str], now: datetime
) -> Alert | None:
    """Freeze the approval and tell rep, manager and director; a second call for the episode does nothing."""
    opp = session.get(Opportunity, opportunity_id)
    if opp is None:
        return None
    rep = opp.owner
    # Rep and manager are told; so is the sales director above them, the one who may lift the freeze.
    recipients = engine.distinct_users(rep, engine.manager_of(session, rep), engine.director_above(session, rep))
    actor = session.get(User, actor_id)
    alert = engine.raise_alert(
        session,
        rule=CODE,
        subject_type="opportunity",
        subject_id=opp.id,
        episode=episode,
        title=f"{customer_and_deal(opp.customer.name, opp.title)}回款率不足，合同审批已冻结",
        now=now,
        detail={"reason": reason, "risk_points": risks, "attempted_by": actor_id},
        recipient_ids=[u.id for u in recipients],
    )
    if alert is None:
        return None
    frozen_reason = f"{reason}；风险点：{'；'.join(risks)}" if risks else reason
    audit(
        session,
        actor,
        "opportunity",
        opp.id,
        "approval_freeze",
        {"approval_frozen": opp.approval_frozen},
        {"approval_frozen": True, "reason": frozen_reason},
    )
    opp.approval_frozen, opp.approval_frozen_reason = True, frozen_reason
    record_event(session, "opportunity.approval_frozen", "opportunity", opp.id, actor, rule=CODE, reason=reason)
    deal = f"客户「{opp.customer.name}」的商机「{opp.title}」（预计 {yuan(opp.expected_amount_fen)}）"
    risk_lines = "\n".join(f"· {r}" for r in risks)
    who = f"{actor.name}提交的" if actor else ""
    told = f"【大单信用校验未通过】{deal}{who}合同审批已冻结：{reason}。\n风险点：\n{risk_lines}\n"
    for user in recipients:
        # Those who may lift it get 解除冻结 on the card that comes with the message (bot/capture/unfreeze.py).
        then = LIFT_HINT if may_lift_freeze(user) else "请联系销售总监解除冻结。"
        engine.notify(session, alert, user, told + then)
    return alert


RULE = Rule(
    code=CODE,
    name="大单信用校验",
    trigger="事件：商机进入合同审批（推进前同步校验）",
    area=setting_areas.Credit,
    settings=(
        "credit.amount_threshold_fen",
        "credit.min_on_time_rate",
        "credit.window_months",
        "credit.finance_timeout_seconds",
    ),
)
