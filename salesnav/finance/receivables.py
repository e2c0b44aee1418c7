"""On-time payment rate from our own receivables: of the receivables that fell due in the window,
the share paid in full by the end of their due date (business time zone)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from salesnav.finance.values import LatePayment, PaymentHistory
from salesnav.models import Receivable
from salesnav.settings import current_settings


def window_start(as_of: date, months: int) -> date:
    year, month = divmod(as_of.year * 12 + as_of.month - 1 - months, 12)
    day = min(as_of.day, 28)  # a calendar month back, never an invalid date
    return date(year, month + 1, day)


def from_receivables(session: Session, customer_id: int, *, as_of: datetime, months: int) -> PaymentHistory:

    tz = current_settings().business_tz
    today = as_of.astimezone(tz).date()
    receivables = session.scalars(
        select(Receivable)
        .options(selectinload(Receivable.payments))
        .where(
            Receivable.customer_id == customer_id,
            Receivable.due_date >= window_start(today, months),
            Receivable.due_date < today,  # due today may still be paid today
        )
        .order_by(Receivable.due_date)
    ).all()
    late: list[LatePayment] = []
    for receivable in receivables:
        deadline = datetime.combine(receivable.due_date + timedelta(days=1), time(), tzinfo=tz)
        paid, settled_at = 0, None
        for payment in sorted(receivable.payments, key=lambda p: p.paid_at):
            paid += payment.amount_fen
            if paid >= receivable.amount_fen:
                settled_at = payment.paid_at
                break
        if settled_at is not None and settled_at < deadline:
            continue
        paid_on = settled_at.astimezone(tz).date() if settled_at else None
        days_late = ((paid_on or today) - receivable.due_date).days
        late.append(LatePayment(receivable.invoice_no, receivable.amount_fen, receivable.due_date, paid_on, days_late))
    if not receivables:
        return PaymentHistory(None, 0, [], "receivables")
    rate = (len(receivables) - len(late)) / len(receivables)
    return PaymentHistory(rate, len(receivables), late, "receivables")
