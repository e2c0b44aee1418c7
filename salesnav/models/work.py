"""Tasks (待办), alerts (预警) and annotations (批注): what the rules and managers produce."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from salesnav.models.base import Base, BigId, IdMixin, LabelledEnum, TimestampMixin, db_enum
from salesnav.models.org import User


class TaskStatus(LabelledEnum):
    OPEN = "open", "待处理"
    DONE = "done", "已完成"
    CANCELLED = "cancelled", "已取消"


class AlertState(LabelledEnum):
    OPEN = "open", "未处理"
    ESCALATED = "escalated", "已升级"
    RESOLVED = "resolved", "已解除"


class Task(IdMixin, TimestampMixin, Base):
    __tablename__ = "tasks"

    assignee_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id"), index=True)
    title: Mapped[str] = mapped_column(String(300))
    detail: Mapped[str | None] = mapped_column(Text)
    due_at: Mapped[datetime | None] = mapped_column(index=True)
    status: Mapped[TaskStatus] = mapped_column(db_enum(TaskStatus), default=TaskStatus.OPEN)
    origin: Mapped[str] = mapped_column(String(60), default="manual")  # manual, rule:follow_up_overdue, ...
    subject_type: Mapped[str | None] = mapped_column(String(40))
    subject_id: Mapped[int | None]
    escalation_level: Mapped[int] = mapped_column(default=0)
    created_by_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("users.id"))
    completed_at: Mapped[datetime | None]
    completed_by_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("users.id"))

    assignee: Mapped[User] = relationship(foreign_keys=[assignee_id])


class Alert(IdMixin, TimestampMixin, Base):
    """One alert per rule episode; the idempotency key makes a second firing impossible."""

    __tablename__ = "alerts"
    __table_args__ = (
        Index("ix_alerts_state_rule_raised", "state", "rule", "raised_at"),  # the rule scans: open alerts only
        Index("ix_alerts_subject", "subject_type", "subject_id"),
    )

    rule: Mapped[str] = mapped_column(String(60), index=True)
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    subject_type: Mapped[str] = mapped_column(String(40))
    subject_id: Mapped[int]
    state: Mapped[AlertState] = mapped_column(db_enum(AlertState), default=AlertState.OPEN)
    title: Mapped[str] = mapped_column(String(300))
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)
    recipient_ids: Mapped[list[int]] = mapped_column(default=list)
    raised_at: Mapped[datetime]
    escalated_at: Mapped[datetime | None]
    resolved_at: Mapped[datetime | None]
    resolved_by_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("users.id"))
    resolution: Mapped[str | None] = mapped_column(String(200))
    manager_intervened_at: Mapped[datetime | None]


class Annotation(IdMixin, TimestampMixin, Base):
    """批注: a manager's voice or text note on an alert, an opportunity or a touchpoint."""

    __tablename__ = "annotations"

    author_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id"), index=True)
    recipient_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("users.id"))
    alert_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("alerts.id"), index=True)
    opportunity_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("opportunities.id"), index=True)
    touchpoint_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("touchpoints.id"), index=True)
    text: Mapped[str] = mapped_column(Text, default="")
    audio_attachment_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("attachments.id"))
    transcript: Mapped[str | None] = mapped_column(Text)
    acknowledged_at: Mapped[datetime | None]
    help_requested_at: Mapped[datetime | None]

    author: Mapped[User] = relationship(foreign_keys=[author_id])
