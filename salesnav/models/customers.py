"""Customers (hospitals, distributors) and their contacts with decision-chain roles."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from salesnav.models.base import Base, BigId, IdMixin, LabelledEnum, SoftDeleteMixin, TimestampMixin, db_enum
from salesnav.models.org import User
from salesnav.models.tags import LIFECYCLE_STAGE_TYPE, LifecycleStage


class CustomerKind(LabelledEnum):
    HOSPITAL = "hospital", "医院"
    DISTRIBUTOR = "distributor", "经销商"
    OTHER = "other", "其他"


class Health(LabelledEnum):
    GREEN = "green", "绿灯"
    YELLOW = "yellow", "黄灯"
    RED = "red", "红灯"


class DecisionRole(LabelledEnum):
    INFLUENCER = "influencer", "影响者"
    PURCHASER = "purchaser", "采购者"
    USER = "user", "使用者"
    VETO = "veto", "否决者"


class Customer(IdMixin, TimestampMixin, SoftDeleteMixin, Base):
    __tablename__ = "customers"

    name: Mapped[str] = mapped_column(String(200), index=True)
    kind: Mapped[CustomerKind] = mapped_column(db_enum(CustomerKind), default=CustomerKind.HOSPITAL)
    grade: Mapped[str | None] = mapped_column(String(20))  # e.g. 三甲
    region: Mapped[str | None] = mapped_column(String(50))
    # The labels of the tags the customer holds now: kept by salesnav/handlers/tags.py from customer_tags
    # (the truth), for lists and exports that show them without a join.
    tags: Mapped[list[str]] = mapped_column(default=list)
    owner_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id"), index=True)
    key_account_manager_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("users.id"))
    health: Mapped[Health] = mapped_column(db_enum(Health), default=Health.GREEN)
    # Computed by salesnav/handlers/lifecycle.py (新客户试用期, 续费前, 流失预警); None: in no stage.
    lifecycle_stage: Mapped[LifecycleStage | None] = mapped_column(LIFECYCLE_STAGE_TYPE, default=None, index=True)
    lifecycle_since: Mapped[datetime | None] = mapped_column(default=None)

    owner: Mapped[User] = relationship(foreign_keys=[owner_id])
    key_account_manager: Mapped[User | None] = relationship(foreign_keys=[key_account_manager_id])
    contacts: Mapped[list[Contact]] = relationship(back_populates="customer", order_by="Contact.id")


class Contact(IdMixin, TimestampMixin, SoftDeleteMixin, Base):
    __tablename__ = "contacts"

    customer_id: Mapped[int] = mapped_column(BigId, ForeignKey("customers.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    title: Mapped[str | None] = mapped_column(String(100))
    phone: Mapped[str | None] = mapped_column(String(32), index=True)  # E.164 once normalised
    external_userid: Mapped[str | None] = mapped_column(String(64), unique=True)
    decision_role: Mapped[DecisionRole | None] = mapped_column(db_enum(DecisionRole))
    # The role was inferred from a title heard in a note (李主任 → 影响者), not set by a person: shown as 推测.
    decision_role_guessed: Mapped[bool] = mapped_column(default=False, server_default=false())

    customer: Mapped[Customer] = relationship(back_populates="contacts")
