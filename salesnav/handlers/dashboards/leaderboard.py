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

The leaderboard lists a month's collaborations by value (ties: the faster answer first); the monthly
top 3 are the first three of each of the last `MONTHS` months. Department totals sum the values.

Which month: the one asked for (the current month or any past one; the picker offers the current month and
every past month with a collaboration), else the current month — unless it has no collaboration yet, as in
its first days, when the last full month is shown instead and the page says so.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, replace
from datetime import date, datetime
from math import inf
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from salesnav.handlers.errors import DomainError
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
MONTH_PATTERN = r"^(\d{4})-(0[1-9]|1[0-2])$"  # 2026-11
FIRST_YEAR = 2000  # older months are a typo: nothing was sold through SalesNav then


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
    month: str  # the month shown, 2026-11
    rows: list[Collaboration]
    departments: list[DepartmentTotal]  # of the month shown
    monthly_top: list[MonthTop]  # the last MONTHS months up to the current one, newest first
    current_month: str  # today's month, 2026-12
    current_month_empty: bool  # today's month has no collaboration yet
    months: list[str]  # the month picker: the current month and every past month with a collaboration, newest first
    notice: str | None  # said above the board when the last full month stands in for an empty current month


def response_speed(sla_hours: float, response_hours: float | None) -> float:
    if response_hours is None:
        return 0.0
    return sla_hours / (sla_hours + max(response_hours, 0.0)) if sla_hours > 0 else 0.0


def collaboration_value(won_amount_fen: int, speed: float) -> float:
    return won_amount_fen / FEN_PER_WAN * speed


def parse_month(raw: str) -> date:
    """「2026-11」 → date(2026, 11, 1); anything else is refused in Chinese."""
    matched = re.match(MONTH_PATTERN, raw.strip())
    if not matched or int(matched.group(1)) < FIRST_YEAR:
        raise DomainError("月份格式应为 2026-11")
    return date(int(matched.group(1)), int(matched.group(2)), 1)


def month_label(month: str) -> str:
    """「2026-11」 → 「2026年11月」."""
    year, number = month.split("-")
    return f"{year}年{int(number)}月"


def months_before(first: date, back: int) -> date:
    year, month = divmod(first.year * 12 + first.month - 1 - back, 12)
    return date(year, month + 1, 1)


def leaderboard(
    session: Session, now: datetime, tz: ZoneInfo, month: date | None = None, months: int = MONTHS
) -> Leaderboard:
    """The leaderboard of `month` (its first day), by default the current month or, while that is still empty,
    the last full month. A month after the current one is refused."""
    first = now.astimezone(tz).date().replace(day=1)
    if month is not None and month.replace(day=1) > first:
        raise DomainError(f"不能查看未来月份的排行榜（本月为{month_label(f'{first:%Y-%m}')}）")
    current = month_collaborations(session, Window.month_of(first, tz))
    history = []
    for back in range(months):
        start = months_before(first, back)
        rows = current if back == 0 else month_collaborations(session, Window.month_of(start, tz))
        history.append(MonthTop(f"{start:%Y-%m}", rows[:TOP]))
    shown = month.replace(day=1) if month is not None else (first if current else months_before(first, 1))
    rows = current if shown == first else month_collaborations(session, Window.month_of(shown, tz))
    notice = None
    if month is None and shown != first:
        notice = f"本月暂无已赢单的协同记录，显示上月（{month_label(f'{shown:%Y-%m}')}）"
    return Leaderboard(
        month=f"{shown:%Y-%m}",
        rows=rows,
        departments=_department_totals(rows),
        monthly_top=history,
        current_month=f"{first:%Y-%m}",
        current_month_empty=not current,
        months=_picker_months(session, first, tz),
        notice=notice,
    )


def _department_totals(rows: list[Collaboration]) -> list[DepartmentTotal]:
    totals: dict[str, list[float]] = defaultdict(list)
    for row in rows:
        totals[row.department_name].append(row.value)
    return sorted(
        (DepartmentTotal(name, len(values), sum(values)) for name, values in totals.items()), key=lambda d: -d.value
    )


def _picker_months(session: Session, first: date, tz: ZoneInfo) -> list[str]:
    """The current month and every earlier month in which a deal with a collaboration ticket was won."""
    closed = session.scalars(
        select(Opportunity.closed_at)
        .distinct()
        .join(CollaborationTicket, CollaborationTicket.opportunity_id == Opportunity.id)
        .join(TicketPart, TicketPart.ticket_id == CollaborationTicket.id)
        .where(
            Opportunity.status == OpportunityStatus.WON,
            Opportunity.closed_at.is_not(None),
            Opportunity.deleted_at.is_(None),
        )
    )
    current = f"{first:%Y-%m}"
    past = {f"{at.astimezone(tz):%Y-%m}" for at in closed if at is not None}
    return [current, *sorted((m for m in past if m < current), reverse=True)]


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
