"""Receivables and payments: monthly instalments for won deals and older contracts.

Payers are mostly punctual; a few poor payers sit behind big deals near 合同审批 so the credit check has work.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING

from salesnav.demo.plan.records import PlannedCustomer
from salesnav.models import CustomerKind, OpportunityStatus

if TYPE_CHECKING:
    from salesnav.demo.plan.demo_plan import DemoPlan


def add_instalment_plans(plan: DemoPlan) -> None:
    """Monthly instalments: one plan per won deal, plus an older contract for established customers."""
    for cust in plan.custs:
        roll = plan.rng.random()
        cust.punctuality = (
            plan.rng.uniform(0.94, 1.0)
            if roll < 0.88
            else plan.rng.uniform(0.86, 0.93)
            if roll < 0.96
            else plan.rng.uniform(0.5, 0.8)
        )
        cust.lateness = plan.rng.uniform(0, 0.5)
    # Big open deals about to reach 合同审批 get poor payers, so the credit check has something to stop.
    big = [
        d
        for d in plan.deals
        if d.status is OpportunityStatus.OPEN
        and d.amount_yuan > 500_000
        and d.path[-1] in ("sample_test", "negotiation")
    ]
    for deal in big[:3]:
        deal.cust.punctuality = plan.rng.uniform(0.5, 0.75)
    for deal in plan.deals:
        if deal.status is OpportunityStatus.WON:
            _instalments(plan, deal.cust, deal.id, deal.amount_yuan, deal.transition_times[-1].date())
    established = [
        c for c in plan.custs if c.deals or c.grade in ("三甲", "三乙") or c.kind is CustomerKind.DISTRIBUTOR
    ]
    for cust in established:
        start = plan.day0.date() - timedelta(days=plan.rng.randint(200, 540))
        _instalments(plan, cust, None, int(round(plan.rng.uniform(150_000, 2_500_000), -3)), start)


def _instalments(plan: DemoPlan, cust: PlannedCustomer, deal_id: int | None, amount_yuan: int, signed: date) -> None:
    total_fen = amount_yuan * 100
    share = total_fen // 12
    for month in range(1, 13):
        due = _add_months(signed, month)
        receivable_id = plan.ids("receivables")
        amount = share if month < 12 else total_fen - share * 11
        plan.rows["receivables"].append(
            {
                "id": receivable_id,
                "customer_id": cust.id,
                "opportunity_id": deal_id,
                "invoice_no": f"INV{due:%Y%m}{receivable_id:05d}",
                "amount_fen": amount,
                "due_date": due,
            }
        )
        if due >= plan.day0.date():
            continue
        # Error diffusion rather than a coin per instalment: a 95 % payer is late once in twenty, not
        # "by luck" twice in the six instalments due so far.
        cust.lateness += 1 - cust.punctuality
        if cust.lateness < 1:
            paid_on = due - timedelta(days=plan.rng.randint(0, 10))
        else:
            cust.lateness -= 1
            paid_on = due + timedelta(days=plan.rng.randint(3, 60))
        paid_at = datetime(paid_on.year, paid_on.month, paid_on.day, 2, tzinfo=UTC)  # 10:00 Beijing
        if paid_at >= plan.day0:
            continue  # late and still unpaid
        plan.rows["payments"].append(
            {
                "id": plan.ids("payments"),
                "receivable_id": receivable_id,
                "amount_fen": amount,
                "paid_at": paid_at,
                "created_at": paid_at,
                "updated_at": paid_at,
            }
        )


def _add_months(day: date, months: int) -> date:
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(day.day, 28))
