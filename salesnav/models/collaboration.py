"""Cross-department collaboration tickets (跨部门协同单), one part per department."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from salesnav.models.base import Base, BigId, IdMixin, LabelledEnum, TimestampMixin, db_enum
from salesnav.models.opportunities import Opportunity
from salesnav.models.org import Department


class TicketStatus(LabelledEnum):
    OPEN = "open", "处理中"
    CLOSED = "closed", "已闭环"


class PartStatus(LabelledEnum):
    OPEN = "open", "待响应"
    ANSWERED = "answered", "已响应"
    CLOSED = "closed", "已完成"


class EnablementKind(LabelledEnum):
    WHITEPAPER = "whitepaper", "行业白皮书"
    EXPERT_LIVE = "expert_live", "专家直播"
    CUSTOM_CASE = "custom_case", "定制化案例"


class CollaborationTicket(IdMixin, TimestampMixin, Base):
    __tablename__ = "collaboration_tickets"

    opportunity_id: Mapped[int] = mapped_column(BigId, ForeignKey("opportunities.id"), index=True)
    opened_by_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id"))
    reason: Mapped[str] = mapped_column(String(200))
    status: Mapped[TicketStatus] = mapped_column(db_enum(TicketStatus), default=TicketStatus.OPEN)
    opened_at: Mapped[datetime]
    closed_at: Mapped[datetime | None]

    opportunity: Mapped[Opportunity] = relationship()
    parts: Mapped[list[TicketPart]] = relationship(back_populates="ticket", order_by="TicketPart.id")
    enablement_requests: Mapped[list[EnablementRequest]] = relationship(back_populates="ticket")


ONE_SHARE_PER_DEPARTMENT = "enablement_request_id IS NULL"


class TicketPart(IdMixin, TimestampMixin, Base):
    """One department's share of a ticket, with its own SLA clock (which starts at `created_at`).

    A ticket has at most one such share per department, plus one marketing part per enablement
    request (市场赋能请求) the rep adds to it."""

    __tablename__ = "ticket_parts"
    __table_args__ = (
        Index(
            "uq_ticket_parts_department_share",
            "ticket_id",
            "department_id",
            unique=True,
            sqlite_where=text(ONE_SHARE_PER_DEPARTMENT),
            postgresql_where=text(ONE_SHARE_PER_DEPARTMENT),
        ),
        Index("ix_ticket_parts_status_due", "status", "due_at"),  # the overdue and reminder scans
        # The parts opened in a window (first-response compliance; today's Level 1 cells), migration 0026.
        Index("ix_ticket_parts_created_at", "created_at"),
    )

    ticket_id: Mapped[int] = mapped_column(BigId, ForeignKey("collaboration_tickets.id"))
    department_id: Mapped[int] = mapped_column(BigId, ForeignKey("departments.id"), index=True)
    request: Mapped[str] = mapped_column(Text)  # what the department must supply
    status: Mapped[PartStatus] = mapped_column(db_enum(PartStatus), default=PartStatus.OPEN)
    sla_hours: Mapped[int]
    due_at: Mapped[datetime] = mapped_column(index=True)
    first_response_at: Mapped[datetime | None]
    first_valid_response_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    response_text: Mapped[str | None] = mapped_column(Text)
    attachment_ids: Mapped[list[int]] = mapped_column(default=list)
    material_ids: Mapped[list[int]] = mapped_column(default=list)  # chosen from the materials library
    schedule_date: Mapped[datetime | None]  # delivery: confirmed schedule
    risks: Mapped[str | None] = mapped_column(Text)  # delivery: marked risk points
    valid_until: Mapped[datetime | None]  # validity of the supplied material / schedule
    responder_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("users.id"))
    enablement_request_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("enablement_requests.id"), unique=True)
    reminded_at: Mapped[datetime | None]  # the one reminder before the deadline went out

    ticket: Mapped[CollaborationTicket] = relationship(back_populates="parts")
    department: Mapped[Department] = relationship()
    enablement_request: Mapped[EnablementRequest | None] = relationship(back_populates="part")


class EnablementRequest(IdMixin, TimestampMixin, Base):
    """市场赋能请求: a rep asks marketing for a white paper, an expert live session or a custom case."""

    __tablename__ = "enablement_requests"

    ticket_id: Mapped[int] = mapped_column(BigId, ForeignKey("collaboration_tickets.id"), index=True)
    kind: Mapped[EnablementKind] = mapped_column(db_enum(EnablementKind))
    note: Mapped[str | None] = mapped_column(Text)
    requested_by_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id"))
    fulfilled_at: Mapped[datetime | None]

    ticket: Mapped[CollaborationTicket] = relationship(back_populates="enablement_requests")
    part: Mapped[TicketPart | None] = relationship(back_populates="enablement_request")


class IncentivePoints(IdMixin, Base):
    """协同激励积分 earned by a department when a deal it supported is won."""

    __tablename__ = "incentive_points"
    __table_args__ = (UniqueConstraint("ticket_part_id"),)

    department_id: Mapped[int] = mapped_column(BigId, ForeignKey("departments.id"), index=True)
    ticket_part_id: Mapped[int] = mapped_column(BigId, ForeignKey("ticket_parts.id"))
    opportunity_id: Mapped[int] = mapped_column(BigId, ForeignKey("opportunities.id"))
    points: Mapped[int]
    awarded_at: Mapped[datetime]
