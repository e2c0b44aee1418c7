"""Collaboration tickets for deals that reached 样品测试, their department parts and incentive points.

44 % of the parts, spread evenly in time, got their first valid answer within 24 h (the first-response rate).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from salesnav.demo import vocab
from salesnav.demo.baseline import FIRST_RESPONSE_RATE, INCENTIVE_POINTS, SAMPLE_TEST
from salesnav.demo.plan.records import PlannedDeal
from salesnav.models import DepartmentKind, EnablementKind, OpportunityStatus, PartStatus, TicketStatus

if TYPE_CHECKING:
    from salesnav.demo.plan.demo_plan import DemoPlan


def add_tickets(plan: DemoPlan) -> None:
    """A ticket for every deal that entered 样品测试; 44 % of the parts, spread evenly in time (so every
    window shows it), got their first valid answer within 24 h."""
    sampled = sorted(
        (d for d in plan.deals if SAMPLE_TEST in d.path),
        key=lambda d: d.transition_times[d.path.index(SAMPLE_TEST)],
    )
    parts = [(d.id, kind) for d in sampled for kind in (DepartmentKind.MARKETING, DepartmentKind.DELIVERY)]
    on_time = {
        part for part, flag in zip(parts, plan.spread(len(parts), FIRST_RESPONSE_RATE, block=1), strict=True) if flag
    }
    plan.ticket_parts = len(parts)
    for deal in sampled:
        _ticket(plan, deal, on_time)


def _ticket(plan: DemoPlan, deal: PlannedDeal, on_time: set[tuple[int, DepartmentKind]]) -> None:
    opened = deal.transition_times[deal.path.index(SAMPLE_TEST)]
    ticket_id = plan.ids("collaboration_tickets")
    closes = []
    for kind, request in (
        (DepartmentKind.MARKETING, "提供竞品对比材料"),
        (DepartmentKind.DELIVERY, "确认排期并标注风险点"),
    ):
        part_id = plan.ids("ticket_parts")
        row = _part(plan, part_id, ticket_id, kind, request, opened, (deal.id, kind) in on_time)
        plan.rows["ticket_parts"].append(row)
        closes.append(row["closed_at"])
        won_at = deal.transition_times[-1] if deal.status is OpportunityStatus.WON else None
        if won_at and row["closed_at"] and row["closed_at"] < won_at:
            plan.rows["incentive_points"].append(
                {
                    "id": plan.ids("incentive_points"),
                    "department_id": plan.dept_by_kind[kind],
                    "ticket_part_id": part_id,
                    "opportunity_id": deal.id,
                    "points": INCENTIVE_POINTS,
                    "awarded_at": won_at,
                }
            )
    closed_at = max(c for c in closes if c) if all(closes) else None
    plan.rows["collaboration_tickets"].append(
        {
            "id": ticket_id,
            "opportunity_id": deal.id,
            "opened_by_id": deal.cust.owner_id,
            "reason": "商机进入样品测试",
            "status": TicketStatus.CLOSED if closed_at else TicketStatus.OPEN,
            "opened_at": opened,
            "closed_at": closed_at,
            "created_at": opened,
            "updated_at": closed_at or opened,
        }
    )
    if plan.rng.random() < 0.35:
        enablement = plan.rng.choice(list(EnablementKind))
        asked = opened + timedelta(hours=plan.rng.randint(1, 6))
        fulfilled = asked + timedelta(days=plan.rng.randint(1, 6))
        plan.rows["enablement_requests"].append(
            {
                "id": plan.ids("enablement_requests"),
                "ticket_id": ticket_id,
                "kind": enablement,
                "note": vocab.ENABLEMENT_NOTES[enablement.value],
                "requested_by_id": deal.cust.owner_id,
                "fulfilled_at": fulfilled if fulfilled < plan.day0 else None,
                "created_at": asked,
                "updated_at": asked,
            }
        )


def _part(
    plan: DemoPlan, part_id: int, ticket_id: int, kind: DepartmentKind, request: str, opened: datetime, on_time: bool
) -> dict[str, Any]:
    """A department's part: answered validly within 24 h, answered but not validly, or answered late."""
    hours = plan.rng.uniform
    horizon = plan.day0 - timedelta(minutes=1)  # nothing may be answered in the future
    first: datetime | None
    valid: datetime | None
    if on_time:  # answered in time, and before today
        limit = min(23.5, (horizon - opened).total_seconds() / 3600 - 0.01)
        first = valid = opened + timedelta(hours=hours(min(1.0, limit / 2), limit))
    elif plan.rng.random() < 0.35:  # a quick reply without the material / schedule, the real one later
        first, valid = opened + timedelta(hours=hours(2, 20)), opened + timedelta(hours=hours(26, 80))
    else:
        first = valid = opened + timedelta(hours=hours(25, 96))
    first = first if first < horizon else None
    valid = valid if first and valid < horizon else None
    if valid:
        plan.first_response_ok += on_time
    marketing = kind is DepartmentKind.MARKETING
    status = PartStatus.CLOSED if valid else (PartStatus.ANSWERED if first else PartStatus.OPEN)
    return {
        "id": part_id,
        "ticket_id": ticket_id,
        "department_id": plan.dept_by_kind[kind],
        "request": request,
        "status": status,
        "sla_hours": 24,
        "due_at": opened + timedelta(hours=24),
        "first_response_at": first,
        "first_valid_response_at": valid,
        "closed_at": valid,
        "response_text": (
            ("已上传竞品对比材料" if marketing else "已确认排期，风险点见备注")
            if valid
            else ("已收到，材料整理中" if first else None)
        ),
        "attachment_ids": [],
        "schedule_date": valid + timedelta(days=plan.rng.randint(3, 14)) if valid and not marketing else None,
        "risks": "装机场地需提前改造供电" if valid and not marketing and plan.rng.random() < 0.5 else None,
        "valid_until": valid + timedelta(days=90) if valid else None,
        "responder_id": plan.dept_heads[kind] if first else None,
        "created_at": opened,
        "updated_at": valid or first or opened,
    }
