"""Excel one-click migration: each import is a recorded batch, so it is idempotent and can be undone as one."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from salesnav.models.base import Base, BigId, IdMixin, LabelledEnum, TimestampMixin, db_enum
from salesnav.models.org import User


class ImportStatus(LabelledEnum):
    PREVIEWED = "previewed", "待确认"
    QUEUED = "queued", "排队中"
    RUNNING = "running", "导入中"
    DONE = "done", "已完成"
    FAILED = "failed", "导入失败"
    UNDONE = "undone", "已撤销"


class ExcelImport(IdMixin, TimestampMixin, Base):
    """One uploaded sheet: what was detected, what the user corrected, what it created and what failed."""

    __tablename__ = "excel_imports"
    __table_args__ = (Index("ix_excel_imports_owner_hash", "owner_id", "file_sha256"),)

    owner_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id"))  # whose customers the rows become
    created_by_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id"))
    filename: Mapped[str] = mapped_column(String(255))
    file_sha256: Mapped[str] = mapped_column(String(64))
    size_bytes: Mapped[int]
    status: Mapped[ImportStatus] = mapped_column(db_enum(ImportStatus), default=ImportStatus.PREVIEWED)
    file_date: Mapped[datetime | None]  # relative dates (上周三) are resolved against it, else the import date
    total_rows: Mapped[int] = mapped_column(default=0)
    processed_rows: Mapped[int] = mapped_column(default=0)
    corrections: Mapped[dict[str, Any]] = mapped_column(default=dict)  # column mapping and match decisions
    counts: Mapped[dict[str, Any]] = mapped_column(default=dict)
    errors: Mapped[list[Any]] = mapped_column(default=list)  # [{sheet, row, reason}]
    notes: Mapped[list[Any]] = mapped_column(default=list)  # [{sheet, row, note}], e.g. a stage the checklist held
    created_ids: Mapped[dict[str, Any]] = mapped_column(default=dict)  # {"customer": [ids], ...}
    message: Mapped[str | None] = mapped_column(Text)  # why it failed, or cannot be confirmed as previewed (Chinese)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    undone_at: Mapped[datetime | None]
    undone_by_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("users.id"))

    owner: Mapped[User] = relationship(foreign_keys=[owner_id])
