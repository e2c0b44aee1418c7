"""Arranging deals for the rule tests, through the real handlers."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

from sqlalchemy.orm import Session

from salesnav.handlers.opportunities import advance_stage, create_from_touchpoint
from salesnav.handlers.stages import stage_by_code
from salesnav.models import Customer, Opportunity, Payment, Receivable, StageTransition, User
from tests import factories as f


def deal(
    session: Session,
    org: f.Org,
    *,
    customer_name: str = "协和医院",
    title: str = "CT球管更换",
    amount_fen: int = 58_000_000,
    stage: str | None = None,
) -> tuple[Customer, Opportunity]:
    cust = f.customer(session, org.rep, name=customer_name)
    tp = f.touchpoint(session, org.rep, cust, summary="拜访设备科主任")
    opp = create_from_touchpoint(
        session, org.rep, touchpoint_id=tp.id, title=title, product_line="CT球管", expected_amount_fen=amount_fen
    )
    if stage is not None:
        opp.stage = stage_by_code(session, stage)  # arranged directly: the earlier stages are not under test
    session.flush()
    return cust, opp


def receivable(session: Session, cust: Customer, invoice: str, amount_fen: int, due: date, paid: date | None) -> None:
    r = Receivable(customer_id=cust.id, invoice_no=invoice, amount_fen=amount_fen, due_date=due)
    session.add(r)
    session.flush()
    if paid is not None:
        paid_at = datetime.combine(paid, datetime.min.time(), tzinfo=UTC) + timedelta(hours=2)
        session.add(Payment(receivable_id=r.id, amount_fen=amount_fen, paid_at=paid_at))


def late_payer_deal(session: Session, org: f.Org) -> Opportunity:
    """A 580,000 CNY deal of rep01 in 商务谈判 whose customer (协和医院) paid 3 of 4 receivables on time (75 %)."""
    cust, opp = deal(session, org, stage="negotiation")
    receivable(session, cust, "INV-2025-101", 5_000_000, date(2025, 5, 10), date(2025, 5, 9))
    receivable(session, cust, "INV-2025-118", 12_000_000, date(2025, 10, 1), date(2025, 11, 5))
    receivable(session, cust, "INV-2025-130", 8_000_000, date(2025, 12, 20), date(2025, 12, 20))
    receivable(session, cust, "INV-2026-002", 3_000_000, date(2026, 1, 31), date(2026, 1, 15))
    return opp


def submit_for_contract_approval(session: Session, actor: User, opportunity_id: int) -> StageTransition:
    """The rep asks for 合同审批 with its checklist complete (the credit check decides)."""
    evidence = f.evidence_for(session, actor, "contract_approval")
    return advance_stage(session, actor, opportunity_id=opportunity_id, to_stage="合同审批", evidence=evidence)


def frozen_deal(session: Session, org: f.Org, drain: Callable[[], None]) -> int:
    """`late_payer_deal`, committed, after rep01's attempt at 合同审批 froze it (the freeze job run by `drain`)."""
    from salesnav.handlers.rules.credit_check import ApprovalFrozen

    opp_id = late_payer_deal(session, org).id
    session.commit()
    try:
        submit_for_contract_approval(session, org.rep, opp_id)
    except ApprovalFrozen:
        session.rollback()  # what every caller does with a refusal
    else:
        raise AssertionError("the credit check did not freeze the deal")
    drain()
    session.expire_all()
    return opp_id
