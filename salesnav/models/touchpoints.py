"""Touchpoints (客户触点日志): every contact a rep has with a customer."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import (
    Column,
    ColumnElement,
    ForeignKey,
    Index,
    SmallInteger,
    String,
    Table,
    Text,
    and_,
    func,
    literal_column,
    text,
)
from sqlalchemy.ext.hybrid import hybrid_property
from sqlalchemy.orm import Mapped, mapped_column, relationship

from salesnav.models.base import Base, BigId, IdMixin, LabelledEnum, SoftDeleteMixin, TimestampMixin, db_enum
from salesnav.models.customers import Contact, Customer, DecisionRole
from salesnav.models.org import User


class TouchpointType(LabelledEnum):
    WECHAT = "wechat", "微信"
    VISIT = "visit", "面访"
    PHONE = "phone", "电话"
    EXPO = "expo", "展会"


class Emotion(LabelledEnum):
    POSITIVE = "positive", "积极"
    NEUTRAL = "neutral", "中性"
    RESISTANT = "resistant", "抵触"


# Touchpoint.contact_roles: one bit per decision role present, and one for "any contact present".
CONTACT_ROLE_BITS = {
    DecisionRole.INFLUENCER: 1,
    DecisionRole.PURCHASER: 2,
    DecisionRole.USER: 4,
    DecisionRole.VETO: 8,
}
ANY_CONTACT_BIT = 16


def contact_roles_of(roles: Iterable[DecisionRole | None]) -> int:
    """The contact_roles of a touchpoint whose contacts present have these decision roles (one each): what
    the database triggers store. A writer that knows the contacts writes it up front, and the trigger then
    has nothing to rewrite (a bulk import would otherwise update every touchpoint it just inserted)."""
    bits = {CONTACT_ROLE_BITS.get(role, 0) if role else 0 for role in roles}
    return ANY_CONTACT_BIT + sum(bits) if bits else 0


class CaptureSource(LabelledEnum):
    CHAT_BUTTON = "chat_button", "聊天快捷按钮"
    CHAT_TEXT = "chat_text", "聊天文字"
    VOICE = "voice", "语音"
    MINIPROGRAM = "miniprogram", "小程序"
    EXCEL_IMPORT = "excel_import", "Excel导入"
    EXTERNAL_CONTACT = "external_contact", "外部联系人事件"
    API = "api", "接口"


touchpoint_contacts = Table(
    "touchpoint_contacts",
    Base.metadata,
    Column("touchpoint_id", BigId, ForeignKey("touchpoints.id"), primary_key=True),
    Column("contact_id", BigId, ForeignKey("contacts.id"), primary_key=True),
)


class Touchpoint(IdMixin, TimestampMixin, SoftDeleteMixin, Base):
    __tablename__ = "touchpoints"
    __table_args__ = (
        Index("ix_touchpoints_customer_occurred", "customer_id", "occurred_at"),
        # From the index alone (migration 0010): the lead funnel's "touched before the window?" per customer and
        # the battle map's latest emotion readings per customer; the battle map's follow-ups per deal; a live
        # day's decision-chain coverage (the roles of the customer's lookback days, migration 0025).
        Index(
            "ix_touchpoints_live_customer_occurred",
            "customer_id",
            "occurred_at",
            postgresql_include=["emotion", "id", "contact_roles"],
            postgresql_where=text("deleted_at IS NULL"),
            sqlite_where=text("deleted_at IS NULL"),
        ),
        Index(
            "ix_touchpoints_live_opportunity_occurred",
            "opportunity_id",
            "occurred_at",
            postgresql_where=text("deleted_at IS NULL"),
            sqlite_where=text("deleted_at IS NULL"),
        ),
        # The metrics read touchpoints by window: company-wide by time, a team or a rep by rep then time.
        Index("ix_touchpoints_occurred", "occurred_at"),
        Index("ix_touchpoints_rep_occurred", "rep_id", "occurred_at"),
        # The company-wide dashboard figures read a window's live touchpoints from this index alone (no heap
        # visits on PostgreSQL): who, which customer, the emotion, the roles present and the next step (effective).
        Index(
            "ix_touchpoints_live_occurred",
            "occurred_at",
            postgresql_include=["customer_id", "rep_id", "emotion", "contact_roles", "next_action_due", "next_action"],
            postgresql_where=text("deleted_at IS NULL"),
            sqlite_where=text("deleted_at IS NULL"),
        ),
    )

    customer_id: Mapped[int] = mapped_column(BigId, ForeignKey("customers.id"))
    rep_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id"))  # found by ix_touchpoints_rep_occurred
    # Deferrable: an import writes the touchpoint that opens a deal before the deal, already linked to it.
    opportunity_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("opportunities.id", deferrable=True, initially="IMMEDIATE"), index=True
    )
    type: Mapped[TouchpointType] = mapped_column(db_enum(TouchpointType))
    emotion: Mapped[Emotion] = mapped_column(db_enum(Emotion), default=Emotion.NEUTRAL)
    summary: Mapped[str] = mapped_column(Text, default="")
    next_action: Mapped[str | None] = mapped_column(String(500))
    next_action_due: Mapped[datetime | None]
    occurred_at: Mapped[datetime]
    source: Mapped[CaptureSource] = mapped_column(db_enum(CaptureSource), default=CaptureSource.API)
    # How long the entry took: form opened → submitted (feeds the 录入时长 metric).
    form_opened_at: Mapped[datetime | None]
    submitted_at: Mapped[datetime | None]
    attachments: Mapped[list[int]] = mapped_column(default=list)  # attachment ids
    guessed_fields: Mapped[list[str]] = mapped_column(default=list)  # e.g. from Excel import or voice
    # The decision roles of the contacts present, as bits (CONTACT_ROLE_BITS), plus ANY_CONTACT_BIT when anyone
    # was. Kept by database triggers on touchpoint_contacts and contacts.decision_role (migration 0009), so
    # every writer keeps it right; read only by the metrics, which would otherwise join 1.3 contacts per row.
    contact_roles: Mapped[int] = mapped_column(SmallInteger, default=0, server_default=text("0"))

    customer: Mapped[Customer] = relationship()
    rep: Mapped[User] = relationship()
    contacts: Mapped[list[Contact]] = relationship(secondary=touchpoint_contacts)

    @property
    def decision_roles(self) -> set[str]:
        return {c.decision_role.value for c in self.contacts if c.decision_role}

    # 有效触点 — the one definition, for Python (a touchpoint in hand, or a row's values) and for SQL (the
    # metrics' counts and the partial index below, whose condition is this very expression so that the
    # planner proves the metrics' queries use it).

    @staticmethod
    def effective(next_action: str | None, next_action_due: datetime | None, any_contact: bool) -> bool:
        """有效触点: a clear next action (text and due) and at least one customer-side participant."""
        return bool(next_action and next_action.strip() and next_action_due and any_contact)

    @hybrid_property
    def has_next_step(self) -> bool:
        """A clear next action: its text (not blank) and its due time."""
        return bool(self.next_action and self.next_action.strip() and self.next_action_due)

    @has_next_step.inplace.expression
    @classmethod
    def _has_next_step_sql(cls) -> ColumnElement[bool]:
        # '' inline, not a bound parameter: the planner must see the index's own condition.
        return and_(
            cls.next_action.is_not(None),
            func.trim(cls.next_action) != literal_column("''"),
            cls.next_action_due.is_not(None),
        )

    @hybrid_property
    def is_effective(self) -> bool:
        return Touchpoint.effective(self.next_action, self.next_action_due, bool(self.contacts))

    @is_effective.inplace.expression
    @classmethod
    def _is_effective_sql(cls) -> ColumnElement[bool]:
        # A contact present: the trigger-kept bit of contact_roles rather than a probe of touchpoint_contacts.
        return and_(cls.has_next_step, cls.contact_roles.op("&")(ANY_CONTACT_BIT) != 0)


# The effective ones (有效触点 less the contact test, which is a bit of contact_roles), for their count.
Index(
    "ix_touchpoints_effective_occurred",
    Touchpoint.occurred_at,
    postgresql_include=["rep_id", "contact_roles"],
    postgresql_where=and_(Touchpoint.deleted_at.is_(None), Touchpoint.has_next_step),
    sqlite_where=and_(Touchpoint.deleted_at.is_(None), Touchpoint.has_next_step),
)
