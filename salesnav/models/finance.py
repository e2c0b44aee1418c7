"""Contracts, receivables and payments (回款), the source of the on-time payment rate.

A won deal's contract carries its amount, its signing date and its instalment plan; each instalment is a
receivable (contract_id, instalment_no) with its own due date, so the reminders, the overdue flag, the ageing and
the on-time rate treat a planned instalment exactly as any other receivable."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from salesnav.models.base import Base, BigId, IdMixin, TimestampMixin


class Contract(IdMixin, TimestampMixin, Base):
    """The contract of a won deal (one per deal): amount, signing date; its instalments are receivables."""

    __tablename__ = "contracts"

    opportunity_id: Mapped[int] = mapped_column(BigId, ForeignKey("opportunities.id"), unique=True)
    customer_id: Mapped[int] = mapped_column(BigId, ForeignKey("customers.id"), index=True)
    contract_no: Mapped[str | None] = mapped_column(String(64))
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    signed_on: Mapped[date]
    # The last day of the service the contract buys; None: signed_on + the setting lifecycle.contract_term_months.
    ends_on: Mapped[date | None] = mapped_column(default=None)
    entered_by_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id"))

    instalments: Mapped[list[Receivable]] = relationship(back_populates="contract", order_by="Receivable.instalment_no")


class Receivable(IdMixin, TimestampMixin, Base):
    __tablename__ = "receivables"
    __table_args__ = (UniqueConstraint("contract_id", "instalment_no"),)

    customer_id: Mapped[int] = mapped_column(BigId, ForeignKey("customers.id"), index=True)
    opportunity_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("opportunities.id"))
    invoice_no: Mapped[str | None] = mapped_column(String(64))
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    due_date: Mapped[date] = mapped_column(index=True)
    # An instalment of a contract (1, 2, …), or NULL: a receivable entered or imported on its own.
    contract_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("contracts.id"), index=True)
    instalment_no: Mapped[int | None]

    contract: Mapped[Contract | None] = relationship(back_populates="instalments")
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
