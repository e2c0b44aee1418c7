"""Customer journeys (issue 20): the journey an admin built, each customer's way through it, each step's run.

- `Journey`: a name and its definition (JSON, validated by salesnav/handlers/journeys/definition.py), active or
  not, a version bumped on every change; `template` names the ready journey it was installed from.
- `JourneyEnrollment`: one customer's way through one journey, from the event that entered them. At most one
  active enrollment per (journey, customer) — a partial unique index — and one per entry event (so the entry
  job may run twice).
- `JourneyStepRun`: one step of one enrollment, unique per (enrollment, step key): a re-run finds the row and
  does nothing twice. `wake_at` is the next moment the runner must look at it (the step falls due, a wait or a
  condition ends, an SLA reminder or escalation is due; NULL when nothing is left to do): the clock's job reads
  `wake_at <= now` on its index, so its cost follows the steps due, never the customers enrolled.
- `JourneyMessageCount`: journey messages sent per audience (a contact, else the customer) and business day —
  the frequency cap's counter, taken with a guarded update so two workers never both pass the cap.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from salesnav.models.base import Base, BigId, IdMixin, LabelledEnum, SoftDeleteMixin, TimestampMixin, db_enum
from salesnav.models.customers import Contact, Customer


class EnrollmentState(LabelledEnum):
    ACTIVE = "active", "进行中"
    COMPLETED = "completed", "已完成"
    EXITED = "exited", "已退出"


class StepRunState(LabelledEnum):
    PENDING = "pending", "待执行"
    HELD = "held", "暂缓"  # quiet hours or the frequency cap: goes at wake_at (hold_reason says why)
    WAITING = "waiting", "等待中"  # a wait, or a condition waiting for its event
    OPEN = "open", "进行中"  # the action went out; its owner has not finished it (task, ticket part, SLA)
    DONE = "done", "已完成"
    CANCELLED = "cancelled", "已取消"  # the customer left the journey before this step finished
    FAILED = "failed", "未能执行"  # no one to do it (e.g. no such department): detail says why


class HoldReason(LabelledEnum):
    QUIET_HOURS = "quiet_hours", "免打扰时段"
    FREQUENCY_CAP = "frequency_cap", "超出每日频次上限"


ONE_ACTIVE = "state = 'active'"
WAKING = "wake_at IS NOT NULL"


class Journey(IdMixin, TimestampMixin, SoftDeleteMixin, Base):
    __tablename__ = "journeys"

    name: Mapped[str] = mapped_column(String(100))
    description: Mapped[str | None] = mapped_column(Text)
    definition: Mapped[dict[str, Any]] = mapped_column(default=dict)
    trigger_kind: Mapped[str] = mapped_column(String(60), index=True)  # the definition's, for the entry query
    active: Mapped[bool] = mapped_column(default=False, index=True)
    version: Mapped[int] = mapped_column(default=1)
    template: Mapped[str | None] = mapped_column(String(60), unique=True)  # the ready journey it came from
    created_by_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("users.id"))
    activated_at: Mapped[datetime | None]


class JourneyEnrollment(IdMixin, TimestampMixin, Base):
    __tablename__ = "journey_enrollments"
    __table_args__ = (
        UniqueConstraint("journey_id", "entry_event_id"),
        Index(
            "uq_journey_enrollments_one_active",
            "journey_id",
            "customer_id",
            unique=True,
            sqlite_where=text(ONE_ACTIVE),
            postgresql_where=text(ONE_ACTIVE),
        ),
        Index("ix_journey_enrollments_customer_state", "customer_id", "state"),
        Index("ix_journey_enrollments_journey_state", "journey_id", "state"),
        Index("ix_journey_enrollments_journey_customer_entered", "journey_id", "customer_id", "entered_at"),
    )

    journey_id: Mapped[int] = mapped_column(BigId, ForeignKey("journeys.id"))
    journey_version: Mapped[int] = mapped_column(default=1)
    customer_id: Mapped[int] = mapped_column(BigId, ForeignKey("customers.id"))
    contact_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("contacts.id"))
    entry_event_id: Mapped[int | None] = mapped_column(
        BigId
    )  # the customer event (customer_events.id) that entered them
    entered_at: Mapped[datetime]
    state: Mapped[EnrollmentState] = mapped_column(db_enum(EnrollmentState), default=EnrollmentState.ACTIVE)
    current_step: Mapped[str | None] = mapped_column(String(40))  # the flow's step; NULL once the flow ended
    flow_ended_at: Mapped[datetime | None]  # the flow reached its end (steps may still be open)
    completed_at: Mapped[datetime | None]
    exited_at: Mapped[datetime | None]
    exit_reason: Mapped[str | None] = mapped_column(String(200))

    journey: Mapped[Journey] = relationship()
    customer: Mapped[Customer] = relationship()
    contact: Mapped[Contact | None] = relationship()


class JourneyStepRun(IdMixin, TimestampMixin, Base):
    __tablename__ = "journey_step_runs"
    __table_args__ = (
        UniqueConstraint("enrollment_id", "step_key"),
        # The clock's advance reads only what is due; rows with nothing left to do are not in the index.
        Index(
            "ix_journey_step_runs_wake_at",
            "wake_at",
            sqlite_where=text(WAKING),
            postgresql_where=text(WAKING),
        ),
        Index("ix_journey_step_runs_journey_step_state", "journey_id", "step_key", "state"),  # the funnel
    )

    enrollment_id: Mapped[int] = mapped_column(BigId, ForeignKey("journey_enrollments.id"))
    journey_id: Mapped[int] = mapped_column(BigId, ForeignKey("journeys.id"))
    step_key: Mapped[str] = mapped_column(String(40))
    step_kind: Mapped[str] = mapped_column(String(20))  # message, card, task, ticket_part, email, wait, condition
    state: Mapped[StepRunState] = mapped_column(db_enum(StepRunState), default=StepRunState.PENDING)
    due_at: Mapped[datetime]  # when the step fell (falls) due
    wake_at: Mapped[datetime | None]  # when the runner next acts on it; NULL when nothing is left to do
    started_at: Mapped[datetime | None]  # the action went out (the wait or condition began)
    sla_due_at: Mapped[datetime | None]  # the owner's deadline
    done_at: Mapped[datetime | None]
    reminded_at: Mapped[datetime | None]  # the reminder at the deadline went out
    escalated_at: Mapped[datetime | None]  # the escalation to the owner's manager went out
    hold_reason: Mapped[HoldReason | None] = mapped_column(db_enum(HoldReason))
    held_count: Mapped[int] = mapped_column(default=0)
    waiting_for: Mapped[str | None] = mapped_column(String(60))  # a condition's event kind
    outcome: Mapped[str | None] = mapped_column(String(20))  # sent, then, else, no_owner, ...
    owner_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("users.id"))
    task_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("tasks.id"), index=True)
    ticket_part_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("ticket_parts.id"), index=True)
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)

    enrollment: Mapped[JourneyEnrollment] = relationship()


class JourneyMessageCount(IdMixin, Base):
    __tablename__ = "journey_message_counts"
    __table_args__ = (UniqueConstraint("audience", "day"),)

    audience: Mapped[str] = mapped_column(String(40))  # "contact:<id>" or "customer:<id>"
    day: Mapped[date]  # business day
    sent: Mapped[int] = mapped_column(default=0)
