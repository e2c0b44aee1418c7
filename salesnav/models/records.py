"""Domain events, the audit trail, job runs (idempotency) and run-time rule settings."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from salesnav.models.base import Base, BigId, IdMixin, TimestampMixin


class DomainEvent(IdMixin, Base):
    """Something that happened, recorded in the same transaction as the change itself."""

    __tablename__ = "domain_events"
    __table_args__ = (
        Index("ix_domain_events_subject", "subject_type", "subject_id"),
        Index("ix_domain_events_kind_occurred", "kind", "occurred_at"),  # every read names the kind (0028)
    )

    kind: Mapped[str] = mapped_column(String(60))  # e.g. touchpoint.logged
    subject_type: Mapped[str] = mapped_column(String(40))
    subject_id: Mapped[int]
    actor_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("users.id"))
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    occurred_at: Mapped[datetime]
    dispatched_at: Mapped[datetime | None]


class AuditEntry(IdMixin, Base):
    """Every change of stage, status, owner and approval: who, when, before and after."""

    __tablename__ = "audit_trail"
    __table_args__ = (Index("ix_audit_trail_entity", "entity_type", "entity_id"),)

    actor_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("users.id"))
    entity_type: Mapped[str] = mapped_column(String(40))
    entity_id: Mapped[int]
    action: Mapped[str] = mapped_column(String(60))
    before: Mapped[dict[str, Any]] = mapped_column(default=dict)
    after: Mapped[dict[str, Any]] = mapped_column(default=dict)
    occurred_at: Mapped[datetime]


class JobRun(IdMixin, Base):
    """A job's idempotency key: a second run with the same key finds this row and does nothing."""

    __tablename__ = "job_runs"

    key: Mapped[str] = mapped_column(String(250), unique=True)
    job: Mapped[str] = mapped_column(String(120))
    args: Mapped[list[Any]] = mapped_column(default=list)
    # queued (committed, not yet handed to the queue: Redis was down), running, done, failed
    status: Mapped[str] = mapped_column(String(20), default="running", index=True)
    attempts: Mapped[int] = mapped_column(default=1)
    error: Mapped[str | None] = mapped_column(Text)
    started_at: Mapped[datetime]  # of a queued run: when it was queued
    finished_at: Mapped[datetime | None]
    queue: Mapped[str | None] = mapped_column(String(20))
    # Renewed by the running process (salesnav/jobs/runner.py); past it, the process is gone.
    lease_expires_at: Mapped[datetime | None]


class RuleSetting(IdMixin, TimestampMixin, Base):
    """A threshold or switch editable at run time (e.g. follow_up.overdue_hours = 72)."""

    __tablename__ = "rule_settings"

    key: Mapped[str] = mapped_column(String(100), unique=True)
    value: Mapped[Any] = mapped_column(JSON)
