"""Opportunities (商机推进卡), their stages, checklists and full history."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from salesnav.models.base import Base, BigId, IdMixin, LabelledEnum, SoftDeleteMixin, TimestampMixin, db_enum
from salesnav.models.customers import Customer
from salesnav.models.org import User


class StageOutcome(LabelledEnum):
    OPEN = "open", "进行中"
    WON = "won", "赢单"
    LOST = "lost", "输单"


class OpportunityStatus(LabelledEnum):
    OPEN = "open", "进行中"
    WON = "won", "赢单"
    LOST = "lost", "输单"


class ChecklistItemKind(LabelledEnum):
    FILE = "file", "上传文件"
    TEXT = "text", "文字"
    CHECKBOX = "checkbox", "勾选"


class Stage(IdMixin, TimestampMixin, SoftDeleteMixin, Base):
    """A sales stage; data, editable by the admin. Renaming never rewrites history (ids are kept)."""

    __tablename__ = "stages"

    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(40))
    position: Mapped[int]
    win_probability: Mapped[int] = mapped_column(default=0)  # percent
    outcome: Mapped[StageOutcome] = mapped_column(db_enum(StageOutcome), default=StageOutcome.OPEN)

    checklist: Mapped[list[ChecklistItem]] = relationship(back_populates="stage", order_by="ChecklistItem.position")

    @property
    def is_closed(self) -> bool:
        return self.outcome is not StageOutcome.OPEN


class ChecklistItem(IdMixin, TimestampMixin, SoftDeleteMixin, Base):
    """Something that must be provided before an opportunity may enter the stage."""

    __tablename__ = "checklist_items"

    stage_id: Mapped[int] = mapped_column(BigId, ForeignKey("stages.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    kind: Mapped[ChecklistItemKind] = mapped_column(db_enum(ChecklistItemKind), default=ChecklistItemKind.CHECKBOX)
    required: Mapped[bool] = mapped_column(default=True)
    position: Mapped[int] = mapped_column(default=0)

    stage: Mapped[Stage] = relationship(back_populates="checklist")


class Opportunity(IdMixin, TimestampMixin, SoftDeleteMixin, Base):
    __tablename__ = "opportunities"
    __table_args__ = (
        Index("ix_opportunities_status_last_follow_up", "status", "last_follow_up_at"),
        # The deals closed in a window (win rate, the stage baseline's year of closed deals) from the index alone
        # on PostgreSQL, however many years of deals the table holds (migration 0025).
        Index(
            "ix_opportunities_live_closed",
            "closed_at",
            postgresql_include=["status", "owner_id", "customer_id", "product_line"],
            postgresql_where=text("deleted_at IS NULL AND closed_at IS NOT NULL"),
            sqlite_where=text("deleted_at IS NULL AND closed_at IS NOT NULL"),
        ),
    )

    customer_id: Mapped[int] = mapped_column(BigId, ForeignKey("customers.id"), index=True)
    owner_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    product_line: Mapped[str] = mapped_column(String(100))
    expected_amount_fen: Mapped[int] = mapped_column(BigInteger)  # CNY in fen; never float
    stage_id: Mapped[int] = mapped_column(BigId, ForeignKey("stages.id"))
    status: Mapped[OpportunityStatus] = mapped_column(db_enum(OpportunityStatus), default=OpportunityStatus.OPEN)
    last_touchpoint_id: Mapped[int] = mapped_column(BigId, ForeignKey("touchpoints.id", use_alter=True))
    last_follow_up_at: Mapped[datetime]
    stage_entered_at: Mapped[datetime]
    closed_at: Mapped[datetime | None]
    approval_frozen: Mapped[bool] = mapped_column(default=False)
    approval_frozen_reason: Mapped[str | None] = mapped_column(Text)

    customer: Mapped[Customer] = relationship()
    owner: Mapped[User] = relationship()
    stage: Mapped[Stage] = relationship()
    history: Mapped[list[StageTransition]] = relationship(back_populates="opportunity", order_by="StageTransition.id")
    evidence: Mapped[list[ChecklistEvidence]] = relationship(back_populates="opportunity")

    @property
    def expected_amount_yuan(self) -> str:
        return f"{self.expected_amount_fen / 100:,.2f}"


# The stage changes that end a stay in a stage (not the creation row), as the stays index's condition.
STAYS_SQL = "from_stage_id IS NOT NULL AND from_stage_entered_at IS NOT NULL"


class StageTransition(IdMixin, Base):
    """One row per stage change: who, when, from, to — the opportunity's full history."""

    __tablename__ = "stage_transitions"
    __table_args__ = (
        # The stays the stage metrics read for a window (the stage left, when it was entered and left, the deal),
        # from the index alone on PostgreSQL.
        Index(
            "ix_stage_transitions_stays",
            "occurred_at",
            postgresql_include=["opportunity_id", "from_stage_id", "from_stage_entered_at"],
            postgresql_where=text(STAYS_SQL),
            sqlite_where=text(STAYS_SQL),
        ),
        # The same stays per deal: a year of closed deals' stays (the stage baseline) by deal (migration 0025).
        Index(
            "ix_stage_transitions_deal_stays",
            "opportunity_id",
            postgresql_include=["from_stage_id", "occurred_at", "from_stage_entered_at"],
            postgresql_where=text(STAYS_SQL),
            sqlite_where=text(STAYS_SQL),
        ),
    )

    opportunity_id: Mapped[int] = mapped_column(BigId, ForeignKey("opportunities.id"), index=True)
    from_stage_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("stages.id"))
    to_stage_id: Mapped[int] = mapped_column(BigId, ForeignKey("stages.id"))
    actor_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id"))
    touchpoint_id: Mapped[int] = mapped_column(BigId, ForeignKey("touchpoints.id"))
    occurred_at: Mapped[datetime] = mapped_column(index=True)
    checklist_complete: Mapped[bool] = mapped_column(default=True)
    override_reason: Mapped[str | None] = mapped_column(Text)
    # When the stage this row leaves (from_stage) was entered: the occurred_at of the opportunity's previous
    # history row (by occurred_at, then id), NULL on the first. Kept by database triggers (migration 0010) so
    # every writer keeps it right — written by none, read by the stage metrics (a stay is one row's difference).
    from_stage_entered_at: Mapped[datetime | None] = mapped_column()

    opportunity: Mapped[Opportunity] = relationship(back_populates="history")
    from_stage: Mapped[Stage | None] = relationship(foreign_keys=[from_stage_id])
    to_stage: Mapped[Stage] = relationship(foreign_keys=[to_stage_id])


class CreditWaiver(IdMixin, TimestampMixin, Base):
    """A director (or admin) lifted a credit freeze (大单信用校验) on this deal, with a reason: the deal goes on
    at `amount_fen` without asking finance again; at any other amount the check runs afresh
    (salesnav/handlers/approvals.py). One row per lift; the latest one counts."""

    __tablename__ = "credit_waivers"

    opportunity_id: Mapped[int] = mapped_column(BigId, ForeignKey("opportunities.id"), index=True)
    amount_fen: Mapped[int] = mapped_column(BigInteger)  # the expected amount whose risk the director accepted
    waived_by_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id"))
    reason: Mapped[str] = mapped_column(Text)
    frozen_reason: Mapped[str | None] = mapped_column(Text)  # what the freeze said, kept beside the decision
    waived_at: Mapped[datetime]

    waived_by: Mapped[User] = relationship()


class ChecklistEvidence(IdMixin, TimestampMixin, Base):
    """What was provided for one checklist item of one opportunity (text, a file, or a tick)."""

    __tablename__ = "checklist_evidence"
    __table_args__ = (UniqueConstraint("opportunity_id", "checklist_item_id"),)

    opportunity_id: Mapped[int] = mapped_column(BigId, ForeignKey("opportunities.id"))
    checklist_item_id: Mapped[int] = mapped_column(BigId, ForeignKey("checklist_items.id"))
    text: Mapped[str | None] = mapped_column(Text)
    attachment_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("attachments.id"))
    checked: Mapped[bool] = mapped_column(default=False)
    provided_by_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id"))
    provided_at: Mapped[datetime]

    opportunity: Mapped[Opportunity] = relationship(back_populates="evidence")
    item: Mapped[ChecklistItem] = relationship()
