"""Receivables and payments (回款), the source of the on-time payment rate."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from salesnav.models.base import Base, BigId, IdMixin, TimestampMixin


class Receivable(IdMixin, TimestampMixin, Base):
    __tablename__ = "receivables"

    customer_id: Mapped[int] = mapped_column(BigId, ForeignKey("customers.id"), index=True)
    opportunity_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("opportunities.id"))
    invoice_no: Mapped[str | None] = mapped_column(String(64))
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    due_date: Mapped[date] = mapped_column(index=True)

    payments: Mapped[list[Payment]] = relationship(back_populates="receivable", order_by="Payment.id")


class Payment(IdMixin, TimestampMixin, Base):
    __tablename__ = "payments"

    receivable_id: Mapped[int] = mapped_column(BigId, ForeignKey("receivables.id"), index=True)
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    paid_at: Mapped[datetime]
    # A payment confirmed from an invoice photo: the invoice it settles (one payment per invoice number,
    # so confirming the same invoice twice never counts the money twice), who confirmed it, and the photo.
    invoice_no: Mapped[str | None] = mapped_column(String(64), unique=True)
    invoice_code: Mapped[str | None] = mapped_column(String(20))
    invoice_date: Mapped[date | None]
    recorded_by_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("users.id"))
    attachment_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("attachments.id"))

    receivable: Mapped[Receivable] = relationship(back_populates="payments")
