"""QR-code scenes: what a scanned code opens (a customer's touchpoint form, an exhibition's lead form).

WeCom limits a mini-program code's scene to 32 characters, so the scene carries only this row's id
and a short signature; what it opens, and until when, is kept here.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from salesnav.models.base import Base, BigId, IdMixin, TimestampMixin


class QrScene(IdMixin, TimestampMixin, Base):
    __tablename__ = "qr_scenes"

    kind: Mapped[str] = mapped_column(String(20))  # touchpoint, expo_lead
    customer_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("customers.id"))
    expo: Mapped[str | None] = mapped_column(String(100))
    created_by_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id"))
    expires_at: Mapped[datetime]
