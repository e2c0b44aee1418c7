"""Contracts and instalment plans (回款计划) of won deals, and payments matched to the oldest open instalment.

A won deal gets one contract: its amount, signing date and instalment plan. Each instalment is a receivable
(`contract_id`, `instalment_no`) with its own due date, so the reminders and the overdue flag
(handlers/collections.py), the ageing (handlers/collections_book.py), the team report and the on-time rate
(finance/receivables.py) count it as any receivable. Editing a plan keeps what was paid: an instalment with
payments cannot be lowered below what was paid on it, and a plan never loses an instalment (receivables are
never deleted): the number of instalments may grow, not shrink.

A payment entered by hand (or imported) for a deal or a customer settles the oldest open instalment first and
spills over to the next; an invoice photo settles the receivable the rep confirms (handlers/payments.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import Enum
from typing import Final

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from salesnav import clock
from salesnav.handlers import customer_events as ce
from salesnav.handlers import rule_settings
from salesnav.handlers.errors import DomainError
from salesnav.handlers.lifecycle import add_months
from salesnav.handlers.money import fen_to_yuan_text
from salesnav.handlers.records import audit, record_event
from salesnav.handlers.scope import customer_for, opportunity_for, owned_by_visible
from salesnav.models import Contract, Customer, Opportunity, OpportunityStatus, Payment, Receivable, User
from salesnav.settings import current_settings


class _Keep(Enum):
    KEEP = "keep"


KEEP: Final = _Keep.KEEP  # save_contract's ends_on left as it is
MAX_INSTALMENTS = 36
MAX_FEN = 10**14
MAX_CONTRACT_NO = 64
PLAN_EXAMPLE = "回款计划 瑞金医院 100万 签约3月2日 30万 3月31日 70万 9月30日"


@dataclass(frozen=True)
class PlannedInstalment:
    """One line of a plan as entered: an amount in fen and a due date."""

    amount_fen: int
    due_date: date


@dataclass(frozen=True)
class InstalmentView:
    receivable_id: int
    instalment_no: int
    amount_fen: int
    due_date: date
    paid_fen: int
    outstanding_fen: int
    days_overdue: int  # 0 when not yet due or paid in full

    @property
    def status(self) -> str:
        if self.outstanding_fen <= 0:
            return "已回款"
        if self.days_overdue > 0:
            return f"逾期 {self.days_overdue} 天"
        return "部分回款" if self.paid_fen else "未到期"


@dataclass(frozen=True)
class ContractView:
    contract_id: int
    opportunity_id: int
    customer_id: int
    contract_no: str | None
    amount_fen: int
    signed_on: date
    instalments: list[InstalmentView]
    ends_on: date | None = None  # the end date entered, if any
    term_ends_on: date | None = None  # the end the renewal window counts from: ends_on, else the default term's

    @property
    def paid_fen(self) -> int:
        return sum(i.paid_fen for i in self.instalments)

    @property
    def outstanding_fen(self) -> int:
        return sum(max(i.outstanding_fen, 0) for i in self.instalments)

    @property
    def overdue_fen(self) -> int:
        return sum(i.outstanding_fen for i in self.instalments if i.days_overdue > 0)


def today() -> date:
    return clock.now().astimezone(current_settings().business_tz).date()


def _paid_by_receivable(session: Session, receivable_ids: list[int]) -> dict[int, int]:
    if not receivable_ids:
        return {}
    rows = session.execute(
        select(Payment.receivable_id, func.sum(Payment.amount_fen))
        .where(Payment.receivable_id.in_(receivable_ids))
        .group_by(Payment.receivable_id)
    )
    return {rid: int(paid or 0) for rid, paid in rows}


def _validate(amount_fen: int, signed_on: date, plan: list[PlannedInstalment], contract_no: str | None) -> None:
    if amount_fen <= 0:
        raise DomainError("合同金额必须大于 0")
    if amount_fen > MAX_FEN:
        raise DomainError("合同金额过大，请检查单位")
    if contract_no is not None and len(contract_no) > MAX_CONTRACT_NO:
        raise DomainError(f"合同编号不能超过 {MAX_CONTRACT_NO} 个字符")
    if not plan:
        raise DomainError("请至少填写一期回款（金额和到期日）")
    if len(plan) > MAX_INSTALMENTS:
        raise DomainError(f"回款计划最多 {MAX_INSTALMENTS} 期")
    for n, line in enumerate(plan, start=1):
        if line.amount_fen <= 0:
            raise DomainError(f"第 {n} 期金额必须大于 0")
        if line.due_date < signed_on:
            raise DomainError(f"第 {n} 期到期日 {line.due_date.isoformat()} 早于签约日 {signed_on.isoformat()}")
    total = sum(line.amount_fen for line in plan)
    if total != amount_fen:
        raise DomainError(
            f"各期金额合计 {fen_to_yuan_text(total)}，与合同金额 {fen_to_yuan_text(amount_fen)} 不一致，请核对"
        )


def contract_of(session: Session, opportunity_id: int) -> Contract | None:
    return session.scalars(select(Contract).where(Contract.opportunity_id == opportunity_id)).first()


def save_contract(
    session: Session,
    actor: User,
    opportunity_id: int,
    *,
    amount_fen: int,
    signed_on: date,
    plan: list[PlannedInstalment],
    contract_no: str | None = None,
    ends_on: date | _Keep | None = KEEP,
) -> Contract:
    """Enter or change the contract of a won deal and its instalment plan (instalment n = the n-th line).
    `ends_on`, the last day of the service it buys, dates its renewal window (handlers/lifecycle.py, and the
    journeys 老客户续费前3个月 enters); None: no end date entered (the contract ends the setting
    lifecycle.contract_term_months after signing); KEEP (the default): the one already entered stays.

    An instalment already (partly) paid keeps at least what was paid; the plan may gain instalments, not lose them.
    """
    opp = opportunity_for(session, actor, opportunity_id)
    if opp.status is not OpportunityStatus.WON:
        raise DomainError(f"商机「{opp.title}」尚未赢单（{opp.status.label}），赢单后才能录入合同和回款计划")
    contract_no = (contract_no or "").strip() or None
    _validate(amount_fen, signed_on, plan, contract_no)
    contract = contract_of(session, opp.id)
    kept = contract.ends_on if contract is not None else None
    ends_on = kept if ends_on is KEEP else ends_on
    if ends_on is not None and ends_on <= signed_on:
        raise DomainError(f"合同到期日 {ends_on.isoformat()} 必须晚于签约日 {signed_on.isoformat()}")
    before: dict[str, object] = {}
    existing: dict[int, Receivable] = {}
    if contract is None:
        contract = Contract(
            opportunity_id=opp.id,
            customer_id=opp.customer_id,
            amount_fen=amount_fen,
            signed_on=signed_on,
            contract_no=contract_no,
            entered_by_id=actor.id,
        )
        session.add(contract)
        session.flush()
    else:
        existing = {r.instalment_no or 0: r for r in contract.instalments}
        before = _snapshot(contract)
    paid = _paid_by_receivable(session, [r.id for r in existing.values()])
    if len(existing) > len(plan):  # receivables are never deleted (the audit trail and the on-time rate keep them)
        raise DomainError(f"回款计划已有 {len(existing)} 期，不能减为 {len(plan)} 期；请调整各期的金额和到期日")
    for no, receivable in existing.items():
        if plan[no - 1] and plan[no - 1].amount_fen < paid.get(receivable.id, 0):
            raise DomainError(f"第 {no} 期已回款 {fen_to_yuan_text(paid[receivable.id])}，金额不能改得比已回款少")
    contract.amount_fen, contract.signed_on, contract.contract_no = amount_fen, signed_on, contract_no
    contract.ends_on = ends_on
    for no, line in enumerate(plan, start=1):
        current = existing.get(no)
        if current is None:
            session.add(
                Receivable(
                    customer_id=opp.customer_id,
                    opportunity_id=opp.id,
                    contract_id=contract.id,
                    instalment_no=no,
                    amount_fen=line.amount_fen,
                    due_date=line.due_date,
                )
            )
        else:
            current.amount_fen, current.due_date = line.amount_fen, line.due_date
    session.flush()
    session.refresh(contract)
    after = _snapshot(contract)
    audit(session, actor, "contract", contract.id, "update" if before else "create", before, after)
    record_event(session, "contract.saved", "opportunity", opp.id, actor, contract_id=contract.id, **after)
    return contract


def _snapshot(contract: Contract) -> dict[str, object]:
    return {
        "contract_no": contract.contract_no,
        "amount_fen": contract.amount_fen,
        "signed_on": contract.signed_on.isoformat(),
        "ends_on": contract.ends_on.isoformat() if contract.ends_on else None,
        "plan": [[r.instalment_no, r.amount_fen, r.due_date.isoformat()] for r in contract.instalments],
    }


def view(session: Session, contract: Contract, *, as_of: date | None = None) -> ContractView:
    day = as_of or today()
    instalments = list(contract.instalments)
    paid = _paid_by_receivable(session, [r.id for r in instalments])
    lines = []
    for r in instalments:
        got = paid.get(r.id, 0)
        left = r.amount_fen - got
        lines.append(
            InstalmentView(
                r.id,
                r.instalment_no or 0,
                r.amount_fen,
                r.due_date,
                got,
                left,
                (day - r.due_date).days if left > 0 and r.due_date < day else 0,
            )
        )
    term_months = rule_settings.lifecycle(session).contract_term_months
    return ContractView(
        contract.id,
        contract.opportunity_id,
        contract.customer_id,
        contract.contract_no,
        contract.amount_fen,
        contract.signed_on,
        lines,
        ends_on=contract.ends_on,
        term_ends_on=contract.ends_on or add_months(contract.signed_on, term_months) - timedelta(days=1),
    )


def set_contract_end(session: Session, actor: User, opportunity_id: int, ends_on: date | None) -> Contract:
    """Enter, change or clear (None) the end date of a deal's contract alone, its plan unchanged."""
    opp = opportunity_for(session, actor, opportunity_id)
    contract = contract_of(session, opp.id)
    if contract is None:
        raise DomainError(f"商机「{opp.title}」还没有录入合同，请先录入回款计划，例如：{PLAN_EXAMPLE}")
    if ends_on is not None and ends_on <= contract.signed_on:
        raise DomainError(f"合同到期日 {ends_on.isoformat()} 必须晚于签约日 {contract.signed_on.isoformat()}")
    before = _snapshot(contract)
    contract.ends_on = ends_on
    session.flush()
    after = _snapshot(contract)
    audit(session, actor, "contract", contract.id, "update", before, after)
    record_event(session, "contract.saved", "opportunity", opp.id, actor, contract_id=contract.id, **after)
    return contract


def contract_for_customer(session: Session, user: User, customer: Customer) -> tuple[Opportunity, Contract]:
    """The contract of a customer's won deal that `user` may see: the latest signed one."""
    found = session.execute(
        select(Opportunity, Contract)
        .join(Contract, Contract.opportunity_id == Opportunity.id)
        .where(
            Contract.customer_id == customer.id,
            Opportunity.deleted_at.is_(None),
            owned_by_visible(session, user, Opportunity.owner_id),
        )
        .order_by(Contract.signed_on.desc(), Contract.id.desc())
    ).first()
    if found is None:
        raise DomainError(f"客户「{customer.name}」还没有录入合同，请先录入回款计划，例如：{PLAN_EXAMPLE}")
    return found[0], found[1]


def won_deal_for_plan(session: Session, user: User, customer: Customer) -> Opportunity:
    """The won deal of a customer a plan is for: the latest one without a contract, else the latest one."""
    won = list(
        session.scalars(
            select(Opportunity)
            .where(
                Opportunity.customer_id == customer.id,
                Opportunity.status == OpportunityStatus.WON,
                Opportunity.deleted_at.is_(None),
                owned_by_visible(session, user, Opportunity.owner_id),
            )
            .order_by(Opportunity.closed_at.desc(), Opportunity.id.desc())
        )
    )
    if not won:
        raise DomainError(f"客户「{customer.name}」还没有赢单的商机，赢单后才能录入回款计划")
    with_contract = set(session.scalars(select(Contract.opportunity_id).where(Contract.customer_id == customer.id)))
    return next((d for d in won if d.id not in with_contract), won[0])


def contract_for_deal(session: Session, actor: User, opportunity_id: int) -> tuple[Opportunity, ContractView | None]:
    """The deal (in the actor's scope) and its contract, if one was entered."""
    opp = opportunity_for(session, actor, opportunity_id)
    contract = contract_of(session, opp.id)
    return opp, view(session, contract) if contract else None


def record_payment(
    session: Session,
    actor: User,
    *,
    amount_fen: int,
    opportunity_id: int | None = None,
    customer_id: int | None = None,
    paid_at: datetime | None = None,
) -> list[Payment]:
    """A payment received for a deal (or, without a deal, a customer): it settles the open receivables oldest
    due date first (instalment 1 before 2), spilling over; more than is outstanding is refused."""
    if opportunity_id is not None:
        opp = opportunity_for(session, actor, opportunity_id)
        where = Receivable.opportunity_id == opp.id
        whose = f"商机「{opp.title}」"
    elif customer_id is not None:
        customer = customer_for(session, actor, customer_id)
        where = Receivable.customer_id == customer.id
        whose = f"客户「{customer.name}」"
    else:
        raise DomainError("请指定回款对应的商机或客户")
    if amount_fen <= 0:
        raise DomainError("回款金额必须大于 0")
    if paid_at is not None and paid_at.tzinfo is None:
        raise DomainError("回款时间缺少时区")
    receivables = list(
        session.scalars(
            select(Receivable).where(where).order_by(Receivable.due_date, Receivable.instalment_no, Receivable.id)
        )
    )
    paid = _paid_by_receivable(session, [r.id for r in receivables])
    open_ = [(r, r.amount_fen - paid.get(r.id, 0)) for r in receivables if r.amount_fen - paid.get(r.id, 0) > 0]
    outstanding = sum(left for _, left in open_)
    if not open_:
        raise DomainError(f"{whose}没有未回款的应收款")
    if amount_fen > outstanding:
        raise DomainError(
            f"回款 {fen_to_yuan_text(amount_fen)} 超过{whose}未回款合计 {fen_to_yuan_text(outstanding)}，请核对金额"
        )
    when = paid_at or clock.now()
    payments, rest = [], amount_fen
    for receivable, left in open_:
        if rest <= 0:
            break
        take = min(rest, left)
        rest -= take
        payment = Payment(receivable_id=receivable.id, amount_fen=take, paid_at=when, recorded_by_id=actor.id)
        session.add(payment)
        session.flush()
        payments.append(payment)
        audit(session, actor, "payment", payment.id, "create", {}, {"receivable_id": receivable.id, "amount_fen": take})
        record_event(
            session,
            "payment.recorded",
            "payment",
            payment.id,
            actor,
            receivable_id=receivable.id,
            customer_id=receivable.customer_id,
            amount_fen=take,
            outstanding_after_fen=left - take,
            source="manual",
        )
        ce.record_payment(session, payment, receivable.customer_id, source="manual")
    return payments
