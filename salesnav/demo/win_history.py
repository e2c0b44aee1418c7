"""A closed-deal history whose true drivers are known: for the win-probability tests and bench/win_probability.py.

Deterministic (`random.Random(seed)`): each deal draws what a rep would see — how many of the four decision
roles are met, the customer's mood, how often the rep calls, how late the company's own departments answer,
the grade, the amount — and wins with the probability TRUE_DRIVERS gives for them (a logistic function).
Deals then walk the open stages: a won deal through all of them to 赢单, a lost one to the stage it is lost in
(where it stalls: LOST_STALL × the usual stay). Touchpoints, stage changes and collaboration parts are written
as the product writes them, so the learner reads this history exactly as it reads a real company's.

The demo company (salesnav/demo/seed.py) has its own closed deals, whose fate is drawn independently of
everything else (a flat 40 %); the bench reports on both.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from salesnav.handlers.stages import ensure_default_stages
from salesnav.models import (
    CollaborationTicket,
    Customer,
    Department,
    DepartmentKind,
    Emotion,
    Opportunity,
    OpportunityStatus,
    PartStatus,
    Stage,
    StageOutcome,
    StageTransition,
    TicketPart,
    TicketStatus,
    Touchpoint,
    TouchpointType,
    User,
)
from salesnav.models.touchpoints import ANY_CONTACT_BIT

PRODUCTS = {"CT球管": (300_000, 1_200_000), "超声": (200_000, 1_500_000), "监护仪": (50_000, 400_000)}
GRADES = ("三甲", "三乙", "二甲")
STAY_DAYS = (8, 10, 14, 12, 10, 7)  # the usual stay in each open stage, in order
LOST_STALL = 1.8
LOSS_WEIGHTS = (22, 22, 18, 16, 12, 10)
ROLE_BITS = (1, 2, 4, 8)  # influencer, purchaser, user, veto


@dataclass(frozen=True)
class Drivers:
    """The true logit of winning: intercept + each effect × its (centred) driver."""

    intercept: float = -0.4
    roles: float = 0.9  # × (roles met − 2)
    mood: float = 3.0  # × (mood − 0.65), mood the customer's leaning 0.3 … 1.0
    late: float = -1.5  # × share of collaboration parts answered late
    rhythm: float = 0.2  # × (touchpoints a month − 4)
    top_grade: float = 0.5  # 三甲
    low_grade: float = -0.3  # 二甲
    amount: float = -0.5  # × log10(amount / 300,000 yuan)


TRUE_DRIVERS = Drivers()


@dataclass(frozen=True)
class History:
    deals: int
    won: int
    lost: int
    open: int
    true_probability: dict[int, float]  # deal id → the probability it was drawn with


def _logit(d: Drivers, roles: int, mood: float, late: float, rhythm: float, grade: str, amount: int) -> float:
    return (
        d.intercept
        + d.roles * (roles - 2)
        + d.mood * (mood - 0.65)
        + d.late * late
        + d.rhythm * (rhythm - 4)
        + (d.top_grade if grade == "三甲" else d.low_grade if grade == "二甲" else 0.0)
        + d.amount * math.log10(amount / 300_000)
    )


def write_history(
    session: Session,
    rep: User,
    *,
    deals: int,
    now: datetime,
    seed: int = 7,
    span_days: int = 540,
    drivers: Drivers = TRUE_DRIVERS,
) -> History:
    """Write `deals` deals of `rep`, started evenly over the `span_days` before `now` (the latest still open)."""
    rng = random.Random(seed)
    ensure_default_stages(session)
    all_stages = list(session.scalars(select(Stage).where(Stage.deleted_at.is_(None)).order_by(Stage.position)))
    path = [s for s in all_stages if s.outcome is StageOutcome.OPEN]
    won_stage = next(s for s in all_stages if s.outcome is StageOutcome.WON)
    lost_stage = next(s for s in all_stages if s.outcome is StageOutcome.LOST)
    departments = []
    for kind, name in ((DepartmentKind.DELIVERY, "交付部"), (DepartmentKind.MARKETING, "市场部")):
        found = session.scalar(select(Department).where(Department.kind == kind).order_by(Department.id).limit(1))
        if found is None:
            found = Department(name=name, kind=kind)
            session.add(found)
            session.flush()
        departments.append(found)
    counts = {OpportunityStatus.WON: 0, OpportunityStatus.LOST: 0, OpportunityStatus.OPEN: 0}
    truth: dict[int, float] = {}
    start0 = now - timedelta(days=span_days)
    for n in range(deals):
        start = start0 + timedelta(days=span_days * (n + rng.random()) / deals)
        grade = rng.choice(GRADES)
        product = rng.choice(sorted(PRODUCTS))
        low, high = PRODUCTS[product]
        amount = int(round(rng.uniform(low, high), -3))
        roles = rng.choice((0, 1, 2, 2, 3, 3, 4))
        mood = rng.uniform(0.3, 1.0)
        rhythm = rng.uniform(1.5, 8.0)
        late = rng.choice((0.0, 0.0, 0.0, 0.5, 1.0))
        p = 1 / (1 + math.exp(-_logit(drivers, roles, mood, late, rhythm, grade, amount)))
        won = rng.random() < p
        last = len(path) if won else rng.choices(range(1, len(path) + 1), LOSS_WEIGHTS)[0]
        times = [start]
        for k in range(last):
            stay = STAY_DAYS[k] * rng.uniform(0.6, 1.4) * (1 if won or k < last - 1 else LOST_STALL)
            times.append(times[-1] + timedelta(days=stay))
        codes = [*path[:last], won_stage if won else lost_stage]
        kept = [(s, t) for s, t in zip(codes, times, strict=True) if t < now]
        status = OpportunityStatus.OPEN
        if len(kept) == len(codes):
            status = OpportunityStatus.WON if won else OpportunityStatus.LOST
        end = kept[-1][1] if status is not OpportunityStatus.OPEN else now
        customer = Customer(name=f"样本医院{seed}-{n + 1:04d}", grade=grade, region="上海", owner_id=rep.id)
        session.add(customer)
        session.flush()
        touches = _touchpoints(rng, customer, rep, start, end, rhythm, mood, roles)
        session.add_all(touches)
        session.flush()
        opp = Opportunity(
            customer_id=customer.id,
            owner_id=rep.id,
            title=f"{product}采购",
            product_line=product,
            expected_amount_fen=amount * 100,
            stage_id=kept[-1][0].id,
            status=status,
            last_touchpoint_id=touches[-1].id,
            last_follow_up_at=touches[-1].occurred_at,
            stage_entered_at=kept[-1][1],
            closed_at=end if status is not OpportunityStatus.OPEN else None,
        )
        session.add(opp)
        session.flush()
        for tp in touches:
            tp.opportunity_id = opp.id
        previous: int | None = None
        for stage, at in kept:
            near = _nearest(touches, at)
            session.add(
                StageTransition(
                    opportunity_id=opp.id,
                    from_stage_id=previous,
                    to_stage_id=stage.id,
                    actor_id=rep.id,
                    touchpoint_id=near.id,
                    occurred_at=at,
                )
            )
            previous = stage.id
        if late or rng.random() < 0.4:
            _ticket(rng, session, opp, rep, departments, start, end, late)
        session.flush()
        counts[status] += 1
        truth[opp.id] = p
    return History(
        deals, counts[OpportunityStatus.WON], counts[OpportunityStatus.LOST], counts[OpportunityStatus.OPEN], truth
    )


def _nearest(touches: list[Touchpoint], at: datetime) -> Touchpoint:
    """The touchpoint a stage change was made from: the one closest in time."""
    return min(touches, key=lambda tp: abs((tp.occurred_at - at).total_seconds()))


def _touchpoints(
    rng: random.Random,
    customer: Customer,
    rep: User,
    start: datetime,
    end: datetime,
    rhythm: float,
    mood: float,
    roles: int,
) -> list[Touchpoint]:
    days = max((end - start).total_seconds() / 86400, 1.0)
    count = max(2, round(days / 30 * rhythm))
    met = rng.sample(ROLE_BITS, roles)
    p_positive = max(0.0, min(1.0, (mood - 0.2) / 0.8)) * 0.9
    p_resistant = max(0.0, min(1.0, (0.8 - mood) / 0.6)) * 0.5
    out = []
    for k in range(count):
        at = start + timedelta(days=days * (k + rng.random()) / count)
        draw = rng.random()
        emotion = (
            Emotion.POSITIVE
            if draw < p_positive
            else Emotion.RESISTANT
            if draw < p_positive + p_resistant
            else Emotion.NEUTRAL
        )
        present = [b for b in met if rng.random() < 0.5] or (met[:1] if met and k % 2 == 0 else [])
        bits = sum(present) + ANY_CONTACT_BIT if present else 0
        out.append(
            Touchpoint(
                customer_id=customer.id,
                rep_id=rep.id,
                type=TouchpointType.VISIT if k % 3 == 0 else TouchpointType.PHONE,
                emotion=emotion,
                summary="跟进采购进展",
                occurred_at=at,
                contact_roles=bits,
            )
        )
    return out


def _ticket(
    rng: random.Random,
    session: Session,
    opp: Opportunity,
    rep: User,
    departments: list[Department],
    start: datetime,
    end: datetime,
    late: float,
) -> None:
    opened = start + (end - start) * rng.uniform(0.1, 0.4)
    ticket = CollaborationTicket(
        opportunity_id=opp.id,
        opened_by_id=rep.id,
        reason="技术方案支持",
        status=TicketStatus.CLOSED,
        opened_at=opened,
        closed_at=opened + timedelta(days=3),
    )
    session.add(ticket)
    session.flush()
    for k, department in enumerate(departments):
        due = opened + timedelta(hours=24)
        is_late = (k == 0 and late > 0) or (k == 1 and late >= 1)
        answered = due + timedelta(hours=30) if is_late else due - timedelta(hours=6)
        session.add(
            TicketPart(
                ticket_id=ticket.id,
                department_id=department.id,
                request="提供技术参数",
                status=PartStatus.CLOSED,
                sla_hours=24,
                due_at=due,
                first_response_at=answered,
                first_valid_response_at=answered,
                closed_at=answered,
            )
        )
