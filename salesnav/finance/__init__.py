"""The customer's on-time payment history: from the finance system when FINANCE_API_URL is set,
otherwise from our own receivables and payments. Contract: docs/finance.md.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from salesnav.finance.client import fetch
from salesnav.finance.receivables import from_receivables
from salesnav.finance.values import FinanceUnavailable, LatePayment, PaymentHistory
from salesnav.models import Customer

__all__ = ["FinanceUnavailable", "LatePayment", "PaymentHistory", "payment_history"]


def payment_history(
    session: Session, customer: Customer, *, as_of: datetime, months: int, api_url: str, timeout: float
) -> PaymentHistory:
    if api_url:
        return fetch(api_url, customer, as_of=as_of, months=months, timeout=timeout)
    return from_receivables(session, customer.id, as_of=as_of, months=months)
