"""Which customers are established accounts and which are new leads, and every deal's fate and stage dates.

Deals are planned before any touchpoint because their stage dates decide when the stage-change touchpoints
happen; the stays around each stage's mean give the article's ±38 % stage deviation.
"""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from salesnav.demo import vocab
from salesnav.demo.baseline import (
    ESTABLISHED,
    ESTABLISHED_DEALS_PER_MONTH,
    HISTORY_DAYS,
    LEAD_CONVERSION,
    LOSS_STAGE_WEIGHTS,
    STAGE_MEAN_DAYS,
    STAGE_PATH,
    STALE_OPEN_DEALS,
    STAY_SPREAD,
    STAY_SPREAD_WIDTH,
    WIN_SHARE,
)
from salesnav.demo.plan.records import PlannedCustomer, PlannedDeal
from salesnav.models import OpportunityStatus

if TYPE_CHECKING:
    from salesnav.demo.plan.demo_plan import DemoPlan


def split_customers(plan: DemoPlan) -> None:
    """Established accounts (known before the six months) and new leads first touched during them.

    Every rep keeps two established accounts (big hospitals and distributors first), a few more are
    spread over the company. The new leads' first touches are spaced evenly over the six months, so
    every month — and every 30-day dashboard window — has its share of new leads.
    """
    by_owner: dict[int, list[PlannedCustomer]] = defaultdict(list)
    for cust in plan.custs:
        by_owner[cust.owner_id].append(cust)
    weight = {"三甲": 4.0, "三乙": 2.0, None: 2.5}
    for rep in plan.reps:
        own = by_owner[rep["id"]]
        for cust in _weighted_sample(plan.rng, own, [weight.get(c.grade, 1.0) for c in own], 2):
            cust.established = True
    rest = [c for c in plan.custs if not c.established]
    extra = ESTABLISHED - sum(1 for c in plan.custs if c.established)
    for cust in _weighted_sample(plan.rng, rest, [weight.get(c.grade, 1.0) for c in rest], extra):
        cust.established = True
    leads = [c for c in plan.custs if not c.established]
    plan.rng.shuffle(leads)
    span = (plan.day0 - timedelta(days=1) - plan.window_start) / len(leads)
    for n, cust in enumerate(leads):
        slot = plan.window_start + span * (n + plan.rng.random())
        cust.first_touch = plan.working_time(slot)
    plan.leads = sorted(leads, key=lambda c: c.first_touch)
    # Which leads become opportunities: error diffusion in time order, so the share is the article's
    # 11.3 % in every window, not only over the whole six months.
    for cust, flag in zip(plan.leads, plan.spread(len(plan.leads), LEAD_CONVERSION, block=1), strict=True):
        cust.converted = flag


def add_deals(plan: DemoPlan) -> None:
    """Deals of established accounts started steadily over the history; one deal per converted lead."""
    history_start = plan.day0 - timedelta(days=HISTORY_DAYS)
    established = [c for c in plan.custs if c.established]
    weights = [4.0 if c.grade == "三甲" else 2.0 if c.grade in ("三乙", None) else 1.0 for c in established]
    count = round(ESTABLISHED_DEALS_PER_MONTH * HISTORY_DAYS / 30)
    span = (plan.day0 - timedelta(days=2) - history_start) / count
    for n in range(count):
        start = plan.working_time(history_start + span * (n + plan.rng.random()))
        cust = plan.rng.choices(established, weights)[0]
        _deal(plan, cust, start)
    for cust in plan.leads:
        if cust.converted:
            # Created from a later touchpoint a few days after the first contact (or from the first one
            # itself when the lead came in during the last days).
            latest = plan.day0 - timedelta(hours=3)
            start = plan.working_time(cust.first_touch + timedelta(days=plan.rng.uniform(1, 14)))
            _deal(plan, cust, start if start < latest else cust.first_touch, from_first_touch=start >= latest)
    for cust in plan.custs:
        if cust.established:
            first = min([d.times[0] for d in cust.deals] + [plan.window_start])
            cust.first_touch = plan.working_time(first - timedelta(days=plan.rng.uniform(5, 90)))
    open_deals = [d for d in plan.deals if d.status is OpportunityStatus.OPEN]
    quiet = [d for d in open_deals if d.times[-1] < plan.day0 - timedelta(days=5)]
    for deal in plan.rng.sample(quiet, min(STALE_OPEN_DEALS, len(quiet))):
        deal.stale = True


def _deal(plan: DemoPlan, cust: PlannedCustomer, start: datetime, *, from_first_touch: bool = False) -> None:
    """One deal: its fate, and the day it entered each stage — stays drawn around the stage's mean."""
    product = plan.product()
    low, high = vocab.PRODUCT_LINES[product]
    amount = int(round(plan.rng.uniform(low, high), -3))
    won = plan.rng.random() < WIN_SHARE
    lost_at = len(STAGE_PATH) if won else plan.rng.choices(range(len(STAGE_PATH)), LOSS_STAGE_WEIGHTS)[0] + 1
    codes = [*STAGE_PATH[:lost_at], "won" if won else "lost"]
    times = [start]
    for code in codes[:-1]:
        times.append(plan.working_time(times[-1] + timedelta(days=_stay_days(plan, code)), after=times[-1]))
    horizon = plan.day0 - timedelta(hours=3)
    kept = [t for t in times if t < horizon]
    codes, times = codes[: len(kept)], kept
    status = (
        OpportunityStatus.WON
        if codes[-1] == "won"
        else OpportunityStatus.LOST
        if codes[-1] == "lost"
        else OpportunityStatus.OPEN
    )
    deal = PlannedDeal(plan.ids("opportunities"), cust, product, amount, codes, status, times)
    deal.from_first_touch = from_first_touch
    cust.deals.append(deal)
    plan.deals.append(deal)


def _stay_days(plan: DemoPlan, code: str) -> float:
    """Days spent in a stage: its mean × (1 ± u), u uniform around STAY_SPREAD — the ±38 % baseline."""
    u = plan.rng.uniform(STAY_SPREAD - STAY_SPREAD_WIDTH, STAY_SPREAD + STAY_SPREAD_WIDTH)
    return STAGE_MEAN_DAYS[code] * (1 + u if plan.rng.random() < 0.5 else 1 - u)


def _weighted_sample(rng: random.Random, items: list[Any], weights: list[float], k: int) -> list[Any]:
    """k distinct items, heavier ones likelier (Efraimidis–Spirakis keys)."""
    keyed = sorted(((rng.random() ** (1 / w), n) for n, w in enumerate(weights)), reverse=True)
    return [items[n] for _, n in keyed[: max(0, k)]]
