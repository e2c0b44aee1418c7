"""Payments (回款) from invoice photos: match the invoice to an open receivable, record it once confirmed.

An invoice photo is read by an OCR engine (salesnav.ocr) in a channel; what was read is kept as an
`invoice.read` event on the photo's attachment, so that the confirmation, which may come minutes later
from a card button or a corrected form, can say which fields the user changed. Nothing becomes a payment
until the user confirms, and one invoice number is one payment: confirming twice records it once.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import asdict, dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from rapidfuzz import fuzz, process
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from salesnav import clock
from salesnav.handlers import customer_events as ce
from salesnav.handlers.attachments import attachment_for
from salesnav.handlers.errors import DomainError, NotFound
from salesnav.handlers.records import audit, record_event
from salesnav.handlers.scope import customer_for, owned_by_visible
from salesnav.models import Customer, DomainEvent, Payment, Receivable, User

READ_EVENT = "invoice.read"
# Buyer names on invoices are the customer's legal name; our customer records use the everyday one
# ("上海市第六人民医院" vs "上海第六人民医院"). Below this similarity (0–100) a customer is not a candidate.
MIN_NAME_SCORE = 80.0
# A branch or campus suffix ("（东院）") keeps the name inside the other: count that, a little below equal.
PARTIAL_WEIGHT = 0.9
NAME_WEIGHT, AMOUNT_WEIGHT = 0.6, 0.4
MAX_CANDIDATE_CUSTOMERS = 10
MAX_FEN = 10**14  # a trillion yuan: anything larger is a misread, not a payment


class PaymentConflict(DomainError):
    code = "conflict"


@dataclass(frozen=True)
class InvoiceFields:
    """An invoice as the user confirms it (or as it was read): money in integer fen."""

    number: str | None = None
    code: str | None = None
    date: date | None = None
    buyer: str | None = None
    seller: str | None = None
    amount_fen: int | None = None
    tax_fen: int | None = None
    total_fen: int | None = None

    def payload(self) -> dict[str, Any]:
        data = asdict(self)
        data["date"] = self.date.isoformat() if self.date else None
        return data

    @classmethod
    def from_reading(cls, reading: Any) -> InvoiceFields:
        """An OCR engine's InvoiceReading (salesnav.ocr; money as Decimal yuan) in fen."""

        def fen(value: Decimal | None) -> int | None:
            return None if value is None else int((value * 100).to_integral_value())

        return cls(
            number=reading.number,
            code=reading.code,
            date=reading.date,
            buyer=reading.buyer,
            seller=reading.seller,
            amount_fen=fen(reading.amount),
            tax_fen=fen(reading.tax),
            total_fen=fen(reading.total),
        )

    @classmethod
    def from_payload(cls, data: dict[str, Any]) -> InvoiceFields:
        names = cls.__dataclass_fields__
        values = {k: v for k, v in data.items() if k in names}
        if values.get("date"):
            values["date"] = date.fromisoformat(values["date"])
        return cls(**values)


@dataclass(frozen=True)
class ReceivableMatch:
    receivable: Receivable
    customer: Customer
    outstanding_fen: int
    name_score: float  # 0–100, buyer name vs customer name
    amount_matches: bool  # the invoice total equals the amount still outstanding
    invoice_no_matches: bool  # the receivable was raised for this very invoice number
    score: float  # 0–1, what the candidates are ranked by


def normalise_name(name: str) -> str:
    """Full-width to half-width, no spaces or punctuation: 上海市第六人民医院（东院） → 上海市第六人民医院东院."""
    return re.sub(r"[\s()\[\]【】,.，。、·:：;；\-_/]", "", unicodedata.normalize("NFKC", name or ""))


def name_score(buyer: str, customer_name: str, **_: Any) -> float:
    a, b = normalise_name(buyer), normalise_name(customer_name)
    if not a or not b:
        return 0.0
    return max(fuzz.ratio(a, b), PARTIAL_WEIGHT * fuzz.partial_ratio(a, b))


def outstanding_fen(session: Session, receivable: Receivable) -> int:
    paid = session.scalar(
        select(func.coalesce(func.sum(Payment.amount_fen), 0)).where(Payment.receivable_id == receivable.id)
    )
    return receivable.amount_fen - int(paid or 0)


def _amount_score(total_fen: int | None, outstanding: int) -> float:
    if not total_fen or outstanding <= 0:
        return 0.0
    return min(total_fen, outstanding) / max(total_fen, outstanding)


def match_receivables(
    session: Session, actor: User, invoice: InvoiceFields, *, limit: int = 3
) -> list[ReceivableMatch]:
    """Open receivables of customers in the actor's scope that this invoice may settle, best first.

    A candidate's customer name must resemble the invoice's buyer (or the receivable must carry the
    invoice's number); among them the amount still outstanding closest to the invoice total wins.
    """
    visible = owned_by_visible(session, actor, Customer.owner_id)
    customers: dict[int, tuple[Customer, float]] = {}
    if invoice.buyer:
        names = dict(
            session.execute(select(Customer.id, Customer.name).where(Customer.deleted_at.is_(None), visible)).all()
        )
        for _name, score, customer_id in process.extract(
            invoice.buyer, names, scorer=name_score, score_cutoff=MIN_NAME_SCORE, limit=MAX_CANDIDATE_CUSTOMERS
        ):
            customer = session.get(Customer, customer_id)
            if customer is not None:
                customers[customer.id] = (customer, float(score))
    receivables = list(session.scalars(select(Receivable).where(Receivable.customer_id.in_(customers))))
    if invoice.number:
        receivables += session.scalars(
            select(Receivable)
            .join(Customer, Customer.id == Receivable.customer_id)
            .where(Receivable.invoice_no == invoice.number, Customer.deleted_at.is_(None), visible)
        )
    matches: dict[int, ReceivableMatch] = {}
    for receivable in receivables:
        outstanding = outstanding_fen(session, receivable)
        if outstanding <= 0 or receivable.id in matches:
            continue
        customer, score = customers.get(receivable.customer_id) or (session.get(Customer, receivable.customer_id), 0.0)
        assert customer is not None
        if not score and invoice.buyer:
            score = name_score(invoice.buyer, customer.name)
        by_number = bool(invoice.number and receivable.invoice_no == invoice.number)
        amount = _amount_score(invoice.total_fen, outstanding)
        matches[receivable.id] = ReceivableMatch(
            receivable=receivable,
            customer=customer,
            outstanding_fen=outstanding,
            name_score=round(score, 1),
            amount_matches=invoice.total_fen == outstanding,
            invoice_no_matches=by_number,
            score=round(1.0 if by_number else NAME_WEIGHT * score / 100 + AMOUNT_WEIGHT * amount, 3),
        )
    ranked = sorted(matches.values(), key=lambda m: (-m.score, m.receivable.due_date, m.receivable.id))
    return ranked[:limit]


def record_reading(
    session: Session, actor: User, attachment_id: int, invoice: InvoiceFields, confidence: dict[str, float], engine: str
) -> DomainEvent:
    """Keep what the engine read from the photo; the confirmation compares against it."""
    attachment_for(session, actor, attachment_id)
    return record_event(
        session,
        READ_EVENT,
        "attachment",
        attachment_id,
        actor,
        fields=invoice.payload(),
        confidence=confidence,
        engine=engine,
    )


def last_reading(session: Session, actor: User, attachment_id: int) -> InvoiceFields | None:
    """What was read from this photo (the latest reading), for someone who may see the photo."""
    attachment_for(session, actor, attachment_id)
    event = session.scalars(
        select(DomainEvent)
        .where(
            DomainEvent.kind == READ_EVENT,
            DomainEvent.subject_type == "attachment",
            DomainEvent.subject_id == attachment_id,
        )
        .order_by(DomainEvent.id.desc())
        .limit(1)
    ).first()
    return InvoiceFields.from_payload(event.payload["fields"]) if event else None


def receivable_for(session: Session, actor: User, receivable_id: int) -> Receivable:
    receivable = session.get(Receivable, receivable_id)
    if receivable is None:
        raise NotFound("应收款不存在或您无权查看")
    try:
        customer_for(session, actor, receivable.customer_id)
    except NotFound as exc:
        raise NotFound("应收款不存在或您无权查看") from exc
    return receivable


def confirm_invoice_payment(
    session: Session,
    actor: User,
    *,
    receivable_id: int,
    invoice: InvoiceFields,
    attachment_id: int | None = None,
    paid_at: datetime | None = None,
) -> tuple[Payment, bool]:
    """Record the invoice's total as a payment on the receivable; (payment, created).

    Fields left out (None) are taken from what was read from the photo `attachment_id`, if any; the
    ones the user changed are kept in the audit entry. The same invoice number confirmed again for
    the same receivable returns the first payment (created False); for another receivable it is
    refused. The total may not exceed what is still outstanding: an invoice larger than the debt is
    a misread or the wrong receivable.
    """
    receivable = receivable_for(session, actor, receivable_id)
    read = last_reading(session, actor, attachment_id) if attachment_id is not None else None
    if read is not None:
        given = invoice.payload()
        invoice = InvoiceFields.from_payload(
            {name: given[name] if given[name] is not None else value for name, value in read.payload().items()}
        )
    corrected = _corrected(read, invoice) if read is not None else []
    number = (invoice.number or "").strip()
    if not number:
        raise DomainError("请填写发票号码")
    if not re.fullmatch(r"[0-9A-Za-z]{6,20}", number):
        raise DomainError("发票号码格式不正确（应为 8 位或 20 位数字）")
    total = invoice.total_fen
    if total is None or total <= 0:
        raise DomainError("请填写价税合计金额（大于 0）")
    if total > MAX_FEN:
        raise DomainError("金额过大，请核对")
    if paid_at is not None and paid_at.tzinfo is None:
        raise DomainError("回款时间缺少时区")
    existing = _payment_for_invoice(session, number)
    if existing is not None:
        return _already_recorded(existing, receivable), False
    outstanding = outstanding_fen(session, receivable)
    if outstanding <= 0:
        raise PaymentConflict("该应收款已全部回款，无需再登记")
    if total > outstanding:
        raise DomainError(
            f"发票金额 ¥{total / 100:,.2f} 超过该应收款未回款金额 ¥{outstanding / 100:,.2f}，请核对金额或选择其他应收款"
        )

    payment = Payment(
        receivable_id=receivable.id,
        amount_fen=total,
        paid_at=paid_at or clock.now(),
        invoice_no=number,
        invoice_code=(invoice.code or "").strip()[:20] or None,
        invoice_date=invoice.date,
        recorded_by_id=actor.id,
        attachment_id=attachment_id,
    )
    try:
        with session.begin_nested():  # two confirmations racing: the unique invoice number decides
            session.add(payment)
            session.flush()
    except IntegrityError:
        existing = _payment_for_invoice(session, number)
        if existing is None:
            raise
        return _already_recorded(existing, receivable), False
    after = {
        **invoice.payload(),
        "number": number,
        "receivable_id": receivable.id,
        "amount_fen": total,
        "attachment_id": attachment_id,
        "corrected": corrected,
    }
    audit(session, actor, "payment", payment.id, "create", {}, after)
    record_event(
        session,
        "payment.recorded",
        "payment",
        payment.id,
        actor,
        receivable_id=receivable.id,
        customer_id=receivable.customer_id,
        amount_fen=total,
        invoice_no=number,
        outstanding_after_fen=outstanding - total,
        source="invoice",
        corrected=corrected,
    )
    ce.record_payment(session, payment, receivable.customer_id, source="invoice")
    return payment, True


def _payment_for_invoice(session: Session, number: str) -> Payment | None:
    return session.scalars(select(Payment).where(Payment.invoice_no == number)).first()


def _already_recorded(payment: Payment, receivable: Receivable) -> Payment:
    if payment.receivable_id != receivable.id:
        raise PaymentConflict(f"发票 {payment.invoice_no} 已登记过回款，不能重复登记")
    return payment


def _corrected(read: InvoiceFields, confirmed: InvoiceFields) -> list[str]:
    """The fields the user changed from what the engine read (the engine's accuracy in real use)."""
    before, after = read.payload(), confirmed.payload()
    return [name for name in before if (before[name] or None) != (after[name] or None)]
