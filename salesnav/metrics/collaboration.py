"""Collaboration metrics over ticket parts (跨部门协同单): on time, answered validly in time, and points earned."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import ColumnElement, and_, case, func, select
from sqlalchemy.orm import Session

from salesnav.metrics.days import Piece, business_tz, pieces_table
from salesnav.metrics.results import Ratio
from salesnav.metrics.scope import Scope, Window
from salesnav.metrics.sql import seconds_between
from salesnav.models import (
    CollaborationTicket,
    Department,
    IncentivePoints,
    Opportunity,
    TicketPart,
    setting_areas,
)


def collaboration_penetration(session: Session, window: Window, scope: Scope) -> Ratio:
    """协同穿透力: ticket parts due in the window that were closed within their SLA (closed at or before the
    due time) ÷ ticket parts due in the window. Parts count for the owner of the ticket's opportunity."""
    return collaboration_penetration_by_window(session, [window], scope)[0]


def collaboration_penetration_by_window(session: Session, windows: Sequence[Window], scope: Scope) -> list[Ratio]:
    """`collaboration_penetration` of each of `windows` in one query (a dashboard's weekly trend)."""
    if not windows:
        return []
    on_time = closed_on_time()
    span = Window(min(w.start for w in windows), max(w.end for w in windows))
    row = session.execute(
        select(
            *(func.count(case((w.contains(TicketPart.due_at), 1))) for w in windows),
            *(func.count(case((and_(w.contains(TicketPart.due_at), on_time), 1))) for w in windows),
        )
        .select_from(TicketPart)
        .join(CollaborationTicket, CollaborationTicket.id == TicketPart.ticket_id)
        .join(Opportunity, Opportunity.id == CollaborationTicket.opportunity_id)
        .where(
            span.contains(TicketPart.due_at),
            scope.covers(Opportunity.owner_id),
            Opportunity.deleted_at.is_(None),
        )
    ).one()
    n = len(windows)
    return [Ratio.of(row[n + k], row[k]) for k in range(n)]


def first_response_compliance(
    session: Session, window: Window, scope: Scope, *, within_hours: int | None = None
) -> Ratio:
    """首次响应达标率: ticket parts opened in the window whose first *valid* response (marketing: material
    attached; delivery: schedule date confirmed) came within `within_hours` (setting
    dashboard.first_response_hours, 24) of the part's opening ÷ ticket parts opened in the window.
    A part opens with its ticket, or later (a forwarded help request, an enablement request): its clock
    starts then. A response at exactly 24 h is in time. Article baseline 44 %, target ≥ 85 %."""
    if within_hours is None:
        within_hours = setting_areas.dashboard(session).first_response_hours
    in_time = answered_in_time(within_hours)
    total, ok = session.execute(
        select(func.count(), func.count(case((in_time, 1))))
        .select_from(TicketPart)
        .join(CollaborationTicket, CollaborationTicket.id == TicketPart.ticket_id)
        .join(Opportunity, Opportunity.id == CollaborationTicket.opportunity_id)
        .where(
            window.contains(TicketPart.created_at),
            scope.covers(Opportunity.owner_id),
            Opportunity.deleted_at.is_(None),
        )
    ).one()
    return Ratio.of(ok, total)


def closed_on_time() -> ColumnElement[bool]:
    """A ticket part closed within its SLA: at or before its due time."""
    return and_(TicketPart.closed_at.is_not(None), TicketPart.closed_at <= TicketPart.due_at)


def answered_in_time(within_hours: int) -> ColumnElement[bool]:
    """A ticket part whose first valid response came within `within_hours` of its opening (exactly then: in time)."""
    return and_(
        TicketPart.first_valid_response_at.is_not(None),
        seconds_between(TicketPart.first_valid_response_at, TicketPart.created_at) <= within_hours * 3600,
    )


@dataclass(frozen=True)
class PartSums:
    """A rep's ticket parts in a piece of a day: due in it and closed on time (`collaboration_penetration`),
    opened in it and answered in time (`first_response_compliance`)."""

    due: int = 0
    on_time: int = 0
    opened: int = 0
    answered: int = 0


def part_cells(
    session: Session, rows: Sequence[Piece], scope: Scope, within_hours: int
) -> dict[tuple[int, int], PartSums]:
    """The ticket part sums per (index of the piece in `rows`, deal owner in scope), counted as
    `collaboration_penetration` (by due time) and `first_response_compliance` (by opening time) count them."""
    if not rows:
        return {}
    table = pieces_table(rows, business_tz())
    start, end = min(p.start for p in rows), max(p.end for p in rows)
    cells: dict[tuple[int, int], PartSums] = {}
    for column, on in ((TicketPart.due_at, closed_on_time()), (TicketPart.created_at, answered_in_time(within_hours))):
        result = session.execute(
            select(table.c.idx, Opportunity.owner_id, func.count(), func.count(case((on, 1))))
            .select_from(TicketPart)
            .join(CollaborationTicket, CollaborationTicket.id == TicketPart.ticket_id)
            .join(Opportunity, Opportunity.id == CollaborationTicket.opportunity_id)
            .join(table, (column >= table.c.start) & (column < table.c.end))
            .where(column >= start, column < end, scope.covers(Opportunity.owner_id), Opportunity.deleted_at.is_(None))
            .group_by(table.c.idx, Opportunity.owner_id)
        )
        for k, rep, n, ok in result:
            key = (int(k), int(rep))
            was = cells.get(key, PartSums())
            if column is TicketPart.due_at:
                cells[key] = PartSums(int(n), int(ok), was.opened, was.answered)
            else:
                cells[key] = PartSums(was.due, was.on_time, int(n), int(ok))
    return cells


@dataclass(frozen=True)
class DepartmentPoints:
    department_id: int
    department_name: str
    points: int


def incentive_points_by_department(session: Session, window: Window, scope: Scope) -> list[DepartmentPoints]:
    """协同激励积分: points awarded in the window per department, for won deals owned in scope; most points
    first. A department with no points in the window is not listed."""
    points = func.sum(IncentivePoints.points)
    rows = session.execute(
        select(Department.id, Department.name, points)
        .select_from(IncentivePoints)
        .join(Department, Department.id == IncentivePoints.department_id)
        .join(Opportunity, Opportunity.id == IncentivePoints.opportunity_id)
        .where(window.contains(IncentivePoints.awarded_at), scope.covers(Opportunity.owner_id))
        .group_by(Department.id, Department.name)
        .order_by(points.desc(), Department.name)
    ).all()
    return [DepartmentPoints(int(dept_id), name, int(total)) for dept_id, name, total in rows]
