"""Exports of the lists (deals, customers, touchpoints, tickets, open receivables) as the viewer sees them:
the same scope rules as the lists (handlers/scope.py: a rep their own, a manager their team's, a director and
admin everyone's; tickets also those with a part for the viewer's department), the same filters and order as
the client's list endpoints (miniprogram_api/*.py list_*), every row rather than one page.

Each export is (sheet title, columns, rows) for salesnav/reports/xlsx.py to write.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from salesnav.handlers import collections_book
from salesnav.handlers.errors import DomainError
from salesnav.handlers.scope import owned_by_visible, ticket_visible
from salesnav.models import (
    CollaborationTicket,
    Customer,
    Opportunity,
    OpportunityStatus,
    Stage,
    TicketPart,
    TicketStatus,
    Touchpoint,
    User,
)
from salesnav.reports.xlsx import Column, local, yuan

MAX_ROWS = 50_000  # an export past this asks for a narrower filter rather than a spreadsheet nobody opens
BAD_ID = "编号格式不正确"


@dataclass(frozen=True)
class Export:
    title: str
    columns: list[Column]
    rows: list[list[Any]]


def _int(args: Mapping[str, str], name: str) -> int | None:
    raw = (args.get(name) or "").strip()
    if not raw:
        return None
    if not raw.isdigit():
        raise DomainError(BAD_ID)
    return int(raw)


def _limited(rows: list[Any]) -> list[Any]:
    if len(rows) > MAX_ROWS:
        raise DomainError(f"要导出的记录超过 {MAX_ROWS:,} 条，请先按客户、阶段或时间筛选")
    return rows


def deals(session: Session, viewer: User, args: Mapping[str, str], tz: ZoneInfo) -> Export:
    query = (
        select(Opportunity)
        .options(selectinload(Opportunity.customer), selectinload(Opportunity.owner), selectinload(Opportunity.stage))
        .where(Opportunity.deleted_at.is_(None), owned_by_visible(session, viewer, Opportunity.owner_id))
        .order_by(Opportunity.last_follow_up_at.desc(), Opportunity.id.desc())
    )
    if status := args.get("status"):
        try:
            query = query.where(Opportunity.status == OpportunityStatus(status))
        except ValueError as exc:
            raise DomainError("商机状态只能是 open、won 或 lost") from exc
    if (customer_id := _int(args, "customer_id")) is not None:
        query = query.where(Opportunity.customer_id == customer_id)
    if product_line := args.get("product_line"):
        query = query.where(Opportunity.product_line == product_line)
    if stage := args.get("stage"):
        query = query.where(
            Opportunity.stage_id.in_(select(Stage.id).where((Stage.code == stage) | (Stage.name == stage)))
        )
    rows = _limited(list(session.scalars(query.limit(MAX_ROWS + 1))))
    return Export(
        "商机",
        [
            Column("客户", width=22),
            Column("商机", width=24),
            Column("产品线", width=12),
            Column("销售", width=10),
            Column("阶段", width=10),
            Column("状态", width=8),
            Column("预计金额（元）", "yuan", 15),
            Column("最近跟进", "datetime", 17),
            Column("进入本阶段", "datetime", 17),
            Column("关闭时间", "datetime", 17),
        ],
        [
            [
                o.customer.name,
                o.title,
                o.product_line,
                o.owner.name,
                o.stage.name,
                o.status.label,
                yuan(o.expected_amount_fen),
                local(o.last_follow_up_at, tz),
                local(o.stage_entered_at, tz),
                local(o.closed_at, tz),
            ]
            for o in rows
        ],
    )


def customers(session: Session, viewer: User, args: Mapping[str, str], tz: ZoneInfo) -> Export:
    query = (
        select(Customer)
        .options(selectinload(Customer.owner), selectinload(Customer.contacts))
        .where(Customer.deleted_at.is_(None), owned_by_visible(session, viewer, Customer.owner_id))
        .order_by(Customer.name, Customer.id)
    )
    if q := (args.get("q") or "").strip():
        query = query.where(Customer.name.contains(q))
    rows = _limited(list(session.scalars(query.limit(MAX_ROWS + 1))))
    return Export(
        "客户",
        [
            Column("客户", width=24),
            Column("类型", width=8),
            Column("等级", width=8),
            Column("区域", width=10),
            Column("负责销售", width=10),
            Column("健康度", width=8),
            Column("联系人数", "int", 9),
            Column("建档时间", "datetime", 17),
        ],
        [
            [
                c.name,
                c.kind.label,
                c.grade,
                c.region,
                c.owner.name,
                c.health.label,
                len([k for k in c.contacts if k.deleted_at is None]),
                local(c.created_at, tz),
            ]
            for c in rows
        ],
    )


def _when(args: Mapping[str, str], name: str, tz: ZoneInfo) -> datetime | None:
    raw = (args.get(name) or "").strip()
    if not raw:
        return None
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError as exc:
        raise DomainError("时间格式应为 2026-03-02 或 2026-03-02T09:30") from exc
    return moment if moment.tzinfo else moment.replace(tzinfo=tz)


def touchpoints(session: Session, viewer: User, args: Mapping[str, str], tz: ZoneInfo) -> Export:
    query = (
        select(Touchpoint)
        .options(selectinload(Touchpoint.customer), selectinload(Touchpoint.rep), selectinload(Touchpoint.contacts))
        .where(Touchpoint.deleted_at.is_(None), owned_by_visible(session, viewer, Touchpoint.rep_id))
        .order_by(Touchpoint.occurred_at.desc(), Touchpoint.id.desc())
    )
    for name in ("customer_id", "opportunity_id", "rep_id"):
        if (value := _int(args, name)) is not None:
            query = query.where(getattr(Touchpoint, name) == value)
    if (since := _when(args, "since", tz)) is not None:
        query = query.where(Touchpoint.occurred_at >= since)
    if (until := _when(args, "until", tz)) is not None:
        query = query.where(Touchpoint.occurred_at < until)
    rows = _limited(list(session.scalars(query.limit(MAX_ROWS + 1))))
    return Export(
        "触点",
        [
            Column("时间", "datetime", 17),
            Column("客户", width=22),
            Column("销售", width=10),
            Column("类型", width=8),
            Column("情绪", width=8),
            Column("在场", width=16),
            Column("纪要", width=40),
            Column("下一步", width=24),
            Column("下一步时间", "datetime", 17),
            Column("有效触点", width=9),
            Column("来源", width=12),
        ],
        [
            [
                local(t.occurred_at, tz),
                t.customer.name,
                t.rep.name,
                t.type.label,
                t.emotion.label,
                "、".join(c.name for c in t.contacts),
                t.summary,
                t.next_action,
                local(t.next_action_due, tz),
                "是" if t.is_effective else "否",
                t.source.label,
            ]
            for t in rows
        ],
    )


def tickets(session: Session, viewer: User, args: Mapping[str, str], tz: ZoneInfo) -> Export:
    query = (
        select(CollaborationTicket)
        .options(
            selectinload(CollaborationTicket.opportunity).selectinload(Opportunity.customer),
            selectinload(CollaborationTicket.parts).selectinload(TicketPart.department),
        )
        .where(ticket_visible(session, viewer))
        .order_by(CollaborationTicket.opened_at.desc(), CollaborationTicket.id.desc())
    )
    if status := args.get("status"):
        try:
            query = query.where(CollaborationTicket.status == TicketStatus(status))
        except ValueError as exc:
            raise DomainError("协同单状态只能是 open 或 closed") from exc
    if (opportunity_id := _int(args, "opportunity_id")) is not None:
        query = query.where(CollaborationTicket.opportunity_id == opportunity_id)
    rows = _limited(list(session.scalars(query.limit(MAX_ROWS + 1))))
    return Export(
        "协同单",
        [
            Column("编号", "int", 8),
            Column("客户", width=22),
            Column("商机", width=24),
            Column("部门", width=10),
            Column("要求", width=30),
            Column("状态", width=8),
            Column("时限（小时）", "int", 12),
            Column("截止", "datetime", 17),
            Column("首次响应", "datetime", 17),
            Column("完成", "datetime", 17),
        ],
        [
            [
                t.id,
                t.opportunity.customer.name,
                t.opportunity.title,
                p.department.name,
                p.request,
                p.status.label,
                p.sla_hours,
                local(p.due_at, tz),
                local(p.first_response_at, tz),
                local(p.closed_at, tz),
            ]
            for t in rows
            for p in t.parts
        ],
    )


def receivables(session: Session, viewer: User, args: Mapping[str, str], tz: ZoneInfo) -> Export:
    """The collections book's rows (open receivables, oldest due first): the viewer's scope, or one customer."""
    rows, more = collections_book.open_rows(session, viewer, customer_id=_int(args, "customer_id"), limit=MAX_ROWS)
    if more:
        _limited([None] * (MAX_ROWS + 1))
    return Export(
        "应收款",
        [
            Column("客户", width=22),
            Column("销售", width=10),
            Column("商机", width=24),
            Column("款项", width=20),
            Column("到期日", "date", 12),
            Column("应收（元）", "yuan", 14),
            Column("已回款（元）", "yuan", 14),
            Column("未回款（元）", "yuan", 14),
            Column("逾期天数", "int", 10),
            Column("账龄", width=10),
        ],
        [
            [
                r.customer_name,
                r.owner_name,
                r.opportunity_title,
                r.what,
                r.due_date,
                yuan(r.amount_fen),
                yuan(r.paid_fen),
                yuan(r.outstanding_fen),
                r.days_overdue,
                r.bucket,
            ]
            for r in rows
        ],
    )


EXPORTS: dict[str, Callable[[Session, User, Mapping[str, str], ZoneInfo], Export]] = {
    "deals": deals,
    "customers": customers,
    "touchpoints": touchpoints,
    "tickets": tickets,
    "receivables": receivables,
}
