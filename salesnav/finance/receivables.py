"""On-time payment rate from our own receivables: of the receivables that fell due in the window,
the share paid in full by the end of their due date (business time zone).

The one definition of "on time" (`lateness`): the credit check, the health diagnosis and the collections book
(per customer and per team) all count with it."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session, selectinload

from salesnav.finance.values import LatePayment, PaymentHistory
from salesnav.models import Receivable
from salesnav.settings import current_settings


def window_start(as_of: date, months: int) -> date:
    year, month = divmod(as_of.year * 12 + as_of.month - 1 - months, 12)
    day = min(as_of.day, 28)  # a calendar month back, never an invalid date
    return date(year, month + 1, day)


def lateness(receivable: Receivable, today: date, tz: ZoneInfo) -> LatePayment | None:
    """None when the receivable was paid in full by the end of its due date; otherwise how late it is
    (paid later, or still unpaid `today`). Reads `receivable.payments`."""
    deadline = datetime.combine(receivable.due_date + timedelta(days=1), time(), tzinfo=tz)
    paid, settled_at = 0, None
    for payment in sorted(receivable.payments, key=lambda p: p.paid_at):
        paid += payment.amount_fen
        if paid >= receivable.amount_fen:
            settled_at = payment.paid_at
            break
    if settled_at is not None and settled_at < deadline:
        return None
    paid_on = settled_at.astimezone(tz).date() if settled_at else None
    days_late = ((paid_on or today) - receivable.due_date).days
    return LatePayment(receivable.invoice_no, receivable.amount_fen, receivable.due_date, paid_on, days_late)


def history_of(receivables: Sequence[Receivable], today: date, tz: ZoneInfo) -> PaymentHistory:
    """The on-time rate of receivables that fell due before `today`."""
    late = [item for item in (lateness(r, today, tz) for r in receivables) if item is not None]
    if not receivables:
        return PaymentHistory(None, 0, [], "receivables")
    rate = (len(receivables) - len(late)) / len(receivables)
    return PaymentHistory(rate, len(receivables), late, "receivables")


def fell_due(session: Session, where: ColumnElement[bool], *, as_of: datetime, months: int) -> list[Receivable]:
    """The receivables matching `where` that fell due in the window (due today may still be paid today)."""
    today = as_of.astimezone(current_settings().business_tz).date()
    return list(
        session.scalars(
            select(Receivable)
            .options(selectinload(Receivable.payments))
            .where(where, Receivable.due_date >= window_start(today, months), Receivable.due_date < today)
            .order_by(Receivable.due_date, Receivable.id)
        ).all()
    )


def from_receivables(session: Session, customer_id: int, *, as_of: datetime, months: int) -> PaymentHistory:
    tz = current_settings().business_tz
    receivables = fell_due(session, Receivable.customer_id == customer_id, as_of=as_of, months=months)
    return history_of(receivables, as_of.astimezone(tz).date(), tz)
