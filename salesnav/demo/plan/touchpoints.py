"""When each touchpoint happens and which deal it belongs to (not yet its content).

Stage changes, each lead's first contact and follow-ups come first; routine touchpoints then fill every day
up to its share of 28.6 visits a rep a month, so any 30-day window shows the baseline.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import datetime, timedelta
from itertools import pairwise
from typing import TYPE_CHECKING

from salesnav.demo.baseline import BEIJING, REPS, VISITS_PER_REP_MONTH, WEEKEND_WEIGHT, WINDOW_DAYS
from salesnav.demo.plan.records import PlannedCustomer, PlannedDeal, PlannedTouchpoint
from salesnav.models import OpportunityStatus

if TYPE_CHECKING:
    from salesnav.demo.plan.demo_plan import DemoPlan


def add_touchpoints(plan: DemoPlan) -> None:
    """The deals' stage-change touchpoints, each lead's first contact and follow-ups, a recent follow-up on
    every open deal, and day by day enough routine touchpoints on the accounts for 28.6 a rep a month."""
    for cust in plan.custs:
        _touch(plan, cust, cust.first_touch, "first")
        if not cust.established and not cust.converted:
            for _ in range(plan.rng.choices((0, 1, 2), (45, 35, 20))[0]):
                later = plan.working_time(cust.first_touch + timedelta(days=plan.rng.uniform(2, 40)))
                if later < plan.day0 - timedelta(hours=3):
                    _touch(plan, cust, later, "lead")
    for deal in plan.deals:
        for n, moment in enumerate(deal.times):
            if n == 0 and deal.from_first_touch:
                touch = deal.cust.touches[0]
                touch.deal = deal
            else:
                touch = _touch(plan, deal.cust, moment, "stage", deal)
            deal.stage_touches.append(touch)
        if deal.status is OpportunityStatus.OPEN and not deal.stale:
            if deal.times[-1] < plan.day0 - timedelta(days=2):
                day = plan.day0 - timedelta(days=plan.rng.choice((1, 2)))
                _touch(plan, deal.cust, plan.working_time(day), "follow_up", deal)
    _routine_touches(plan)
    for cust in plan.custs:
        cust.touches.sort(key=lambda t: t.occurred_at)
        for a, b in pairwise(cust.touches):  # strictly increasing: stage changes sit between touchpoints
            if b.occurred_at <= a.occurred_at:
                b.occurred_at = a.occurred_at + timedelta(seconds=1)
        _link(plan, cust)
    rows = {row["id"]: row for row in plan.rows["customers"]}
    for cust in plan.custs:  # ids in time order per customer, customers in id order: stable and readable
        for touch in cust.touches:
            touch.id = plan.ids("touchpoints")
        # A customer card is created when the lead is first touched.
        rows[cust.id]["created_at"] = rows[cust.id]["updated_at"] = cust.touches[0].occurred_at


def _touch(
    plan: DemoPlan, cust: PlannedCustomer, moment: datetime, kind: str, deal: PlannedDeal | None = None
) -> PlannedTouchpoint:
    touch = PlannedTouchpoint(0, cust, moment, kind=kind, deal=deal)
    cust.touches.append(touch)
    return touch


def _routine_touches(plan: DemoPlan) -> None:
    """Fill each day of the six months up to its share of the total (weekends lighter) with routine
    touchpoints on the accounts a rep already works: established ones and converted leads."""
    total = round(VISITS_PER_REP_MONTH * REPS * WINDOW_DAYS / 30)
    days = [plan.window_start + timedelta(days=d) for d in range(WINDOW_DAYS)]
    weights = [1.0 if (day + BEIJING).weekday() < 5 else WEEKEND_WEIGHT for day in days]
    base: Counter[int] = Counter()
    for cust in plan.custs:
        for touch in cust.touches:
            offset = (touch.occurred_at - plan.window_start).days
            if 0 <= offset < WINDOW_DAYS:
                base[offset] += 1
    scale = total / sum(weights)
    activity = {rep["id"]: max(0.4, plan.rng.gauss(1.0, 0.22)) for rep in plan.reps}
    accounts: dict[int, list[PlannedCustomer]] = defaultdict(list)
    for cust in plan.custs:
        if cust.established or cust.converted:
            accounts[cust.owner_id].append(cust)
    reps = [rep["id"] for rep in plan.reps]
    account_weight = {c.id: plan.rng.uniform(0.5, 1.5) * (1 + len(c.deals)) for c in plan.custs}
    carry = 0.0
    # Today up to now gets its share of the day so far, so that a "last 30 days" window opened at any hour
    # holds 30 days of activity (it loses the same part of its first day).
    opened, closing = plan.day0 + timedelta(minutes=30), plan.day0 + timedelta(hours=13)  # 08:30–21:00 Beijing
    today = max(0.0, min(1.0, (plan.now - opened) / (closing - opened)))
    today_weight = 1.0 if (plan.day0 + BEIJING).weekday() < 5 else WEEKEND_WEIGHT
    for offset, (day, weight) in enumerate([*zip(days, weights, strict=True), (plan.day0, today_weight * today)]):
        carry += weight * scale
        wanted = int(carry) - base[offset]
        carry -= int(carry)
        for rep_id in plan.rng.choices(reps, [activity[r] for r in reps], k=max(0, wanted)):
            # An account is worked once known: a converted lead only after its first touch.
            known = [c for c in accounts[rep_id] if c.first_touch < day]
            if not known:
                continue
            cust = plan.rng.choices(known, [account_weight[c.id] for c in known])[0]
            if day < plan.day0:
                moment = plan.working_time(day + timedelta(hours=12))
            else:
                moment = opened + (plan.now - opened) * plan.rng.random()
            _touch(plan, cust, moment, "routine")


def _link(plan: DemoPlan, cust: PlannedCustomer) -> None:
    """Stage touchpoints belong to their deal; most others to a deal of the customer open at the time.

    A closed deal takes no touchpoint after its closing one, a stale deal none after its last stage
    change (so the follow-up rule finds it), an open deal any up to today.
    """
    ends = {}
    for deal in cust.deals:
        last_stage = deal.stage_touches[-1].occurred_at
        ends[deal.id] = last_stage if deal.status is not OpportunityStatus.OPEN or deal.stale else plan.day0
    for touch in cust.touches:
        if touch.deal is not None:
            continue
        open_then = [d for d in cust.deals if d.stage_touches[0].occurred_at < touch.occurred_at < ends[d.id]]
        if open_then and plan.rng.random() < 0.85:
            touch.deal = plan.rng.choice(open_then)
