"""The public pool (公海) and the visit brief (拜访简报): what they remember.

- `PoolWarning`: the owner was told a customer will return to the pool at `return_at` (no follow-up for the
  grade's days, or the owner left the company); cancelled by a follow-up before then, else carried out.
- `PoolEntry`: one stay of a customer in the pool, from its return to a claim or a manager's assignment. While
  a customer is in the pool its owner is the system member `POOL_USERID`, so no rep's scope reaches it.
- `VisitBrief`: the brief sent before one due visit (a touchpoint's next action or a task); one per visit.
- `TalkTrackDelivery`: a talk track (话术, a material tagged 话术) reached this rep, once.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from salesnav.models.base import Base, BigId, IdMixin, LabelledEnum, TimestampMixin, db_enum
from salesnav.models.customers import Customer
from salesnav.models.org import User

POOL_USERID = "local:pool"  # the system member that owns the customers in the pool (org sync leaves it alone)
TALK_TRACK_TAG = "话术"  # a material with this tag is a talk track of its product line and stage


class PoolReason(LabelledEnum):
    SILENT = "silent", "长期未跟进"
    OWNER_LEFT = "owner_left", "负责人已离职"


class WarningState(LabelledEnum):
    PENDING = "pending", "待退回"
    CANCELLED = "cancelled", "已跟进，取消退回"
    RETURNED = "returned", "已退回公海"


class PoolExit(LabelledEnum):
    CLAIMED = "claimed", "领取"
    ASSIGNED = "assigned", "主管分配"


OPEN_WARNING = "state = 'pending'"
IN_POOL = "left_at IS NULL"


class PoolWarning(IdMixin, TimestampMixin, Base):
    __tablename__ = "pool_warnings"
    __table_args__ = (
        # At most one pending warning per customer: the scan's idempotency.
        Index(
            "uq_pool_warnings_pending_customer",
            "customer_id",
            unique=True,
            postgresql_where=text(OPEN_WARNING),
            sqlite_where=text(OPEN_WARNING),
        ),
    )

    customer_id: Mapped[int] = mapped_column(BigId, ForeignKey("customers.id"), index=True)
    owner_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id"))
    reason: Mapped[PoolReason] = mapped_column(db_enum(PoolReason))
    state: Mapped[WarningState] = mapped_column(db_enum(WarningState), default=WarningState.PENDING)
    warned_at: Mapped[datetime]
    return_at: Mapped[datetime]
    last_follow_up_at: Mapped[datetime | None]  # what the silence was counted from
    closed_at: Mapped[datetime | None]

    customer: Mapped[Customer] = relationship()
    owner: Mapped[User] = relationship()


class PoolEntry(IdMixin, TimestampMixin, Base):
    __tablename__ = "pool_entries"
    __table_args__ = (
        Index(
            "uq_pool_entries_open_customer",
            "customer_id",
            unique=True,
            postgresql_where=text(IN_POOL),
            sqlite_where=text(IN_POOL),
        ),
        Index("ix_pool_entries_left_by_left_at", "left_by_id", "left_at"),
    )

    customer_id: Mapped[int] = mapped_column(BigId, ForeignKey("customers.id"), index=True)
    previous_owner_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id"))
    reason: Mapped[PoolReason] = mapped_column(db_enum(PoolReason))
    warning_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("pool_warnings.id"))
    entered_at: Mapped[datetime]
    left_at: Mapped[datetime | None]
    left_how: Mapped[PoolExit | None] = mapped_column(db_enum(PoolExit))
    left_by_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("users.id"))  # who claimed or assigned
    new_owner_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("users.id"))

    customer: Mapped[Customer] = relationship()
    previous_owner: Mapped[User] = relationship(foreign_keys=[previous_owner_id])


class VisitBrief(IdMixin, TimestampMixin, Base):
    __tablename__ = "visit_briefs"
    __table_args__ = (UniqueConstraint("source_type", "source_id", "due_at", name="uq_visit_briefs_source"),)

    rep_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id"), index=True)
    customer_id: Mapped[int] = mapped_column(BigId, ForeignKey("customers.id"), index=True)
    opportunity_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("opportunities.id"))
    source_type: Mapped[str] = mapped_column(String(20))  # touchpoint (its next action) or task
    source_id: Mapped[int]
    due_at: Mapped[datetime]
    sent_at: Mapped[datetime]
    content: Mapped[dict[str, Any]] = mapped_column(default=dict)


class TalkTrackDelivery(IdMixin, Base):
    __tablename__ = "talk_track_deliveries"
    __table_args__ = (UniqueConstraint("material_id", "rep_id", name="uq_talk_track_deliveries_material_rep"),)

    material_id: Mapped[int] = mapped_column(BigId, ForeignKey("materials.id"))
    rep_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id"), index=True)
    opportunity_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("opportunities.id"))
    delivered_at: Mapped[datetime]
