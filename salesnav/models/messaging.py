"""WeCom traffic: every inbound callback stored before it is acknowledged, every outbound message in the outbox."""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from salesnav.models.base import Base, BigId, IdMixin, LabelledEnum, TimestampMixin, db_enum


class InboundStatus(LabelledEnum):
    RECEIVED = "received", "已接收"
    PROCESSED = "processed", "已处理"
    FAILED = "failed", "处理失败"
    IGNORED = "ignored", "已忽略"


class OutboundStatus(LabelledEnum):
    QUEUED = "queued", "排队中"
    SENT = "sent", "已发送"
    FAILED = "failed", "发送失败"
    MERGED = "merged", "已合并为摘要"


class InboundMessage(IdMixin, TimestampMixin, Base):
    __tablename__ = "inbound_messages"

    dedupe_key: Mapped[str] = mapped_column(String(300), unique=True)
    from_userid: Mapped[str] = mapped_column(String(64), index=True)
    msg_type: Mapped[str] = mapped_column(String(40))
    event: Mapped[str | None] = mapped_column(String(60))
    raw_xml: Mapped[str] = mapped_column(Text)
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status: Mapped[InboundStatus] = mapped_column(db_enum(InboundStatus), default=InboundStatus.RECEIVED)
    error: Mapped[str | None] = mapped_column(Text)
    received_at: Mapped[datetime]
    processed_at: Mapped[datetime | None]


class OutboundMessage(IdMixin, TimestampMixin, Base):
    __tablename__ = "outbound_messages"
    __table_args__ = (Index("ix_outbound_messages_status_next_attempt", "status", "next_attempt_at"),)

    recipient_userid: Mapped[str] = mapped_column(String(64), index=True)
    msg_type: Mapped[str] = mapped_column(String(30))  # text, markdown, textcard, template_card, file, ...
    body: Mapped[dict[str, Any]] = mapped_column(default=dict)
    idempotency_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    status: Mapped[OutboundStatus] = mapped_column(db_enum(OutboundStatus), default=OutboundStatus.QUEUED)
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    next_attempt_at: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]
    wecom_msgid: Mapped[str | None] = mapped_column(String(128))
    response_code: Mapped[str | None] = mapped_column(String(128))  # template card response_code
    digest_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("outbound_messages.id"))

    def mark_resent(self) -> None:
        """An admin's resend: a number of its own in the body (never sent), so WeCom's duplicate check takes it
        for a new request, not a retry of the first send; a file is uploaded afresh (media ids expire)."""
        body = {k: v for k, v in (self.body or {}).items() if not (k == "media_id" and "upload" in self.body)}
        self.body = {**body, RESEND_KEY: secrets.randbelow(10**9) + 1}


# The body key of an admin's resend (OutboundMessage.mark_resent); the outbox strips it before sending.
RESEND_KEY = "_resend"


class DraftKind(LabelledEnum):
    TOUCHPOINT = "touchpoint", "记触点"
    OPPORTUNITY = "opportunity", "建商机"
    STAGE_MOVE = "stage_move", "推进商机"


class DraftStep(LabelledEnum):
    CHOOSE_CUSTOMER = "choose_customer", "选择客户"
    CHOOSE_KIND = "choose_kind", "选择类型和情绪"
    AWAITING_SUMMARY = "awaiting_summary", "等待纪要"
    AWAITING_DETAILS = "awaiting_details", "等待补充信息"
    DONE = "done", "已完成"


class CaptureDraft(IdMixin, TimestampMixin, Base):
    """A chat capture in progress (a 记触点 card being tapped through, a 建商机 waiting for details).

    Kept in the database, not in process memory, so any worker can take the next tap or message.
    """

    __tablename__ = "capture_drafts"
    __table_args__ = (Index("ix_capture_drafts_user_step", "user_id", "step"),)

    user_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id"))
    kind: Mapped[DraftKind] = mapped_column(db_enum(DraftKind))
    step: Mapped[DraftStep] = mapped_column(db_enum(DraftStep))
    task_id: Mapped[str | None] = mapped_column(String(128), unique=True)  # the template card's task_id
    customer_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("customers.id"))
    touchpoint_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("touchpoints.id"))
    opportunity_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("opportunities.id"))
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    opened_at: Mapped[datetime]
    expires_at: Mapped[datetime | None]
