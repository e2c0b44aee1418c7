"""Attachments (uploaded files, by content hash) and the reusable materials library (素材)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from salesnav.models.base import Base, BigId, IdMixin, SoftDeleteMixin, TimestampMixin


class Attachment(IdMixin, TimestampMixin, SoftDeleteMixin, Base):
    __tablename__ = "attachments"

    sha256: Mapped[str] = mapped_column(String(64), index=True)
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(100))
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    storage_path: Mapped[str] = mapped_column(String(500))
    uploaded_by_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("users.id"))


class Material(IdMixin, TimestampMixin, SoftDeleteMixin, Base):
    __tablename__ = "materials"

    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    product_line: Mapped[str | None] = mapped_column(String(100), index=True)
    stage_code: Mapped[str | None] = mapped_column(String(40))
    customer_kind: Mapped[str | None] = mapped_column(String(40))
    tags: Mapped[list[str]] = mapped_column(default=list)
    attachment_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("attachments.id"))
    url: Mapped[str | None] = mapped_column(String(500))
    published_at: Mapped[datetime]
    retired_at: Mapped[datetime | None]
