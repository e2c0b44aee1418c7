"""Customer tags and lifecycle stages (issue 20, docs/journeys.md).

`TagDefinition` is a tag an admin defines: manual (a rep or admin puts it on a customer) or computed by a rule
(a small typed spec stored as data, salesnav/handlers/tag_rules.py). `CustomerTag` is one customer holding one
tag: the truth of who holds what. A removed tag is retired (`removed_at`), never deleted, and comes back on the
same row. `customers.tags` is the denormalised current set of labels, written only by salesnav/handlers/tags.py.

The lifecycle stage (新客户试用期, 老客户续费前3个月, 流失预警) is computed from the data by
salesnav/handlers/lifecycle.py and kept on the customer (`lifecycle_stage`, `lifecycle_since`).
`TagRun` is one run of the recompute job: its watermark says from when on the next run looks for changes.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from salesnav import clock
from salesnav.models.base import Base, BigId, IdMixin, LabelledEnum, TimestampMixin, db_enum


class TagKind(LabelledEnum):
    MANUAL = "manual", "手动标签"
    RULE = "rule", "规则标签"


class TagSource(LabelledEnum):
    MANUAL = "manual", "手动添加"
    RULE = "rule", "规则计算"


class LifecycleStage(LabelledEnum):
    TRIAL = "trial", "新客户试用期"
    RENEWAL = "renewal", "老客户续费前3个月"
    CHURN_RISK = "churn_risk", "流失预警"


class TagDefinition(IdMixin, TimestampMixin, Base):
    __tablename__ = "tag_definitions"

    code: Mapped[str] = mapped_column(String(40), unique=True)  # a-z, 0-9, _: the code events and the API carry
    label: Mapped[str] = mapped_column(String(20), unique=True)  # what people see and type: 三甲, 高意向
    kind: Mapped[TagKind] = mapped_column(db_enum(TagKind))
    rule: Mapped[dict[str, Any] | None]  # TagRule as JSON (rule tags only)
    description: Mapped[str | None] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(default=True)
    created_by_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("users.id"))


class CustomerTag(IdMixin, Base):
    __tablename__ = "customer_tags"
    __table_args__ = (UniqueConstraint("customer_id", "tag_id"),)

    customer_id: Mapped[int] = mapped_column(BigId, ForeignKey("customers.id"))
    tag_id: Mapped[int] = mapped_column(BigId, ForeignKey("tag_definitions.id"), index=True)
    source: Mapped[TagSource] = mapped_column(db_enum(TagSource))
    applied_by_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("users.id"))
    applied_at: Mapped[datetime] = mapped_column(default=clock.now)
    removed_at: Mapped[datetime | None] = mapped_column(default=None)


class TagRun(IdMixin, Base):
    """One run of the tags and lifecycle recompute (salesnav/jobs/customer_tags.py)."""

    __tablename__ = "tag_runs"

    started_at: Mapped[datetime] = mapped_column(index=True)
    full: Mapped[bool] = mapped_column(default=False)  # every customer, not only those changed since the last run
    customers: Mapped[int] = mapped_column(default=0)  # customers looked at
    changes: Mapped[int] = mapped_column(default=0)  # tags added or removed, stages entered or left


LIFECYCLE_STAGE_TYPE = db_enum(LifecycleStage)
