"""The opportunity rows, their stage history and the checklist evidence behind each stage change.

Kept apart from `deals` (the plan) because these rows need the touchpoints' final ids and times: a stage
change is made right after its touchpoint, and 30 % of them were pushed through over a missing checklist.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from itertools import pairwise
from typing import TYPE_CHECKING

from salesnav.demo import vocab
from salesnav.demo.baseline import CHECKLIST_COMPLETE
from salesnav.demo.plan.records import PlannedDeal
from salesnav.models import ChecklistItemKind, OpportunityStatus

if TYPE_CHECKING:
    from salesnav.demo.plan.demo_plan import DemoPlan


def add_opportunities(plan: DemoPlan) -> None:
    for deal in plan.deals:
        _deal_row(plan, deal)
    _transitions(plan)


def _deal_row(plan: DemoPlan, deal: PlannedDeal) -> None:
    cust = deal.cust
    following = {a.id: b.occurred_at for a, b in pairwise(cust.touches)}
    deal.transition_times = []
    for touch in deal.stage_touches:
        # Made right after its touchpoint and before the customer's next one, as the handler requires.
        delay = timedelta(minutes=plan.rng.randint(3, 40))
        if touch.id in following:
            delay = min(delay, (following[touch.id] - touch.occurred_at) / 2)
        deal.transition_times.append(touch.occurred_at + delay)
    linked = [t for t in cust.touches if t.deal is deal]
    last = linked[-1]
    closed = deal.status is not OpportunityStatus.OPEN
    suffix = "年度维保项目" if deal.product == "维保服务" else plan.rng.choice(vocab.DEAL_SUFFIXES)
    plan.rows["opportunities"].append(
        {
            "id": deal.id,
            "customer_id": cust.id,
            "owner_id": cust.owner_id,
            "title": f"{cust.name}{deal.product}{suffix}",
            "product_line": deal.product,
            "expected_amount_fen": deal.amount_yuan * 100,
            "stage_id": plan.stage_ids[deal.path[-1]],
            "status": deal.status,
            "last_touchpoint_id": last.id,
            "last_follow_up_at": last.occurred_at,
            "stage_entered_at": deal.transition_times[-1],
            "closed_at": deal.transition_times[-1] if closed else None,
            "approval_frozen": False,
            "approval_frozen_reason": None,
            "created_at": deal.transition_times[0],
            "updated_at": max(deal.transition_times[-1], last.occurred_at),
        }
    )


def _transitions(plan: DemoPlan) -> None:
    """Stage history; 30 % of the stage changes, spread evenly in time, were pushed through by a manager
    over a missing checklist (a stage without checklist passes the debt on to the next change)."""
    changes = sorted(
        ((deal, n) for deal in plan.deals for n in range(1, len(deal.path))),
        key=lambda c: c[0].transition_times[c[1]],
    )
    incomplete: set[tuple[int, int]] = set()
    owed = plan.rng.random()
    for deal, n in changes:
        owed += 1 - CHECKLIST_COMPLETE
        if owed >= 1 and plan.checklists[deal.path[n]]:
            incomplete.add((deal.id, n))
            owed -= 1
    for deal in plan.deals:
        for n, code in enumerate(deal.path):
            moment = deal.transition_times[n]
            complete = (deal.id, n) not in incomplete
            rep_id = deal.cust.owner_id
            plan.rows["stage_transitions"].append(
                {
                    "id": plan.ids("stage_transitions"),
                    "opportunity_id": deal.id,
                    "from_stage_id": plan.stage_ids[deal.path[n - 1]] if n else None,
                    "to_stage_id": plan.stage_ids[code],
                    "actor_id": rep_id if complete else plan.manager_of[rep_id],
                    "touchpoint_id": deal.stage_touches[n].id,
                    "occurred_at": moment,
                    "checklist_complete": complete,
                    "override_reason": None if complete else plan.rng.choice(vocab.OVERRIDE_REASONS),
                }
            )
            _evidence(plan, deal, code, moment, complete)


def _evidence(plan: DemoPlan, deal: PlannedDeal, code: str, moment: datetime, complete: bool) -> None:
    items = plan.checklists[code]
    provided = items if complete else plan.rng.sample(items, plan.rng.randrange(len(items)))
    for item_id, kind in provided:
        note = None
        if kind is ChecklistItemKind.TEXT:
            note = plan.rng.choice(vocab.LOST_REASONS) if code == "lost" else "已与客户确认，详见触点纪要"
        at = moment - timedelta(minutes=plan.rng.randint(1, 120))
        plan.rows["checklist_evidence"].append(
            {
                "id": plan.ids("checklist_evidence"),
                "opportunity_id": deal.id,
                "checklist_item_id": item_id,
                "text": note,
                "attachment_id": None,
                "checked": kind is not ChecklistItemKind.TEXT,
                "provided_by_id": deal.cust.owner_id,
                "provided_at": at,
                "created_at": at,
                "updated_at": at,
            }
        )
