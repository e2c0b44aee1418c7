"""Marketing (市场部负责人): the collaboration value leaderboard (协同价值排行榜) and each month's top 3.

The article ranks collaboration "by the won amount of the sales lead × the speed of the collaborative
response" and rewards the month's top three with extra budget. Defined here as:

- a collaboration is one department's part of a collaboration ticket (跨部门协同单) whose opportunity was
  won in the month (closed as 赢单, local calendar month);
- response speed = SLA ÷ (SLA + hours from the part's opening — with its ticket, or later for an enablement
  request or a forwarded help request — to its first *valid* response): 1.0 for
  an instant answer, 0.5 exactly at the SLA (24 h), 0.25 at three times the SLA, never negative; a part with
  no valid response has speed 0 (it supported nothing);
- collaboration value = won amount in 万元 (10,000 CNY) × response speed.

The leaderboard lists the month's collaborations by value (ties: the faster answer first); the monthly
top 3 are the first three of each of the last `MONTHS` months. Department totals sum the values.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, replace
from datetime import date, datetime
from math import inf
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from salesnav.metrics import Window
from salesnav.models import (
    CollaborationTicket,
    Customer,
    Department,
    Opportunity,
    OpportunityStatus,
    TicketPart,
    User,
)

MONTHS = 6
TOP = 3
FEN_PER_WAN = 1_000_000  # 1 万元 = 10,000 CNY = 1,000,000 fen


@dataclass(frozen=True)
class Collaboration:
    rank: int
    ticket_part_id: int
    opportunity_id: int
    opportunity_title: str
    customer_name: str
    rep_name: str
    department_name: str
    responder_name: str | None
    won_amount_fen: int
    response_hours: float | None
    speed: float
    value: float


@dataclass(frozen=True)
class MonthTop:
    month: str  # 2026-03
    top: list[Collaboration]


@dataclass(frozen=True)
class DepartmentTotal:
    department_name: str
    collaborations: int
    value: float


@dataclass(frozen=True)
class Leaderboard:
    month: str
    rows: list[Collaboration]
    departments: list[DepartmentTotal]
    monthly_top: list[MonthTop]


def response_speed(sla_hours: float, response_hours: float | None) -> float:
    if response_hours is None:
        return 0.0
    return sla_hours / (sla_hours + max(response_hours, 0.0)) if sla_hours > 0 else 0.0


def collaboration_value(won_amount_fen: int, speed: float) -> float:
    return won_amount_fen / FEN_PER_WAN * speed


def leaderboard(session: Session, now: datetime, tz: ZoneInfo, months: int = MONTHS) -> Leaderboard:
    today = now.astimezone(tz).date()
    current = month_collaborations(session, Window.month_of(today, tz))
    totals: dict[str, list[float]] = defaultdict(list)
    for row in current:
        totals[row.department_name].append(row.value)
    departments = sorted(
        (DepartmentTotal(name, len(values), sum(values)) for name, values in totals.items()), key=lambda d: -d.value
    )
    history = []
    first = today.replace(day=1)
    for back in range(months):
        year, month = divmod(first.year * 12 + first.month - 1 - back, 12)
        start = date(year, month + 1, 1)
        rows = current if back == 0 else month_collaborations(session, Window.month_of(start, tz))
        history.append(MonthTop(f"{start:%Y-%m}", rows[:TOP]))
    return Leaderboard(f"{first:%Y-%m}", current, departments, history)


def month_collaborations(session: Session, month: Window) -> list[Collaboration]:
    responder = aliased(User)
    rep = aliased(User)
    rows = session.execute(
        select(
            TicketPart,
            TicketPart.created_at,  # the part's opening
            Opportunity.id,
            Opportunity.title,
            Opportunity.expected_amount_fen,
            Customer.name,
            rep.name,
            Department.name,
            responder.name,
        )
        .join(CollaborationTicket, CollaborationTicket.id == TicketPart.ticket_id)
        .join(Opportunity, Opportunity.id == CollaborationTicket.opportunity_id)
        .join(Customer, Customer.id == Opportunity.customer_id)
        .join(rep, rep.id == Opportunity.owner_id)
        .join(Department, Department.id == TicketPart.department_id)
        .outerjoin(responder, responder.id == TicketPart.responder_id)
        .where(
            Opportunity.status == OpportunityStatus.WON,
            month.contains(Opportunity.closed_at),
            Opportunity.deleted_at.is_(None),
        )
    ).all()
    scored = []
    for part, opened_at, opp_id, title, amount, customer, rep_name, dept, responder_name in rows:
        hours = None
        if part.first_valid_response_at is not None:
            hours = (part.first_valid_response_at - opened_at).total_seconds() / 3600
        speed = response_speed(part.sla_hours, hours)
        value = collaboration_value(amount, speed)
        scored.append(
            Collaboration(
                0, part.id, opp_id, title, customer, rep_name, dept, responder_name, amount, hours, speed, value
            )
        )
    # Highest value first; on a tie the faster answer, then the older part.
    scored.sort(key=lambda c: (-c.value, inf if c.response_hours is None else c.response_hours, c.ticket_part_id))
    return [replace(c, rank=rank) for rank, c in enumerate(scored, start=1)]
