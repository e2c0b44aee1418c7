"""The values the finance side hands to the use cases: a customer's payment history and why it may be missing.

Kept apart from the package's entry point so the two sources (the finance system's client, our receivables)
and the entry point that picks one of them can all import them at module level.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date


class FinanceUnavailable(Exception):
    """The finance system could not answer (down, slow, or an answer we cannot read)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason  # Chinese, shown to the user: why the approval waits


@dataclass(frozen=True)
class LatePayment:
    invoice_no: str | None
    amount_fen: int
    due_date: date
    paid_on: date | None  # None: still unpaid
    days_late: int


@dataclass(frozen=True)
class PaymentHistory:
    on_time_rate: float | None  # None: no receivable fell due in the window
    receivables: int
    late: list[LatePayment]
    source: str  # finance_system, receivables

    def risk_points(self) -> list[str]:
        points = []
        for item in self.late:
            label = f"发票 {item.invoice_no}" if item.invoice_no else "应收款"
            amount = f"¥{item.amount_fen / 100:,.2f}"
            if item.paid_on is None:
                due = item.due_date.isoformat()
                points.append(f"{label}（{amount}）{due} 到期，至今未回款，已逾期 {item.days_late} 天")
            else:
                points.append(f"{label}（{amount}）{item.due_date.isoformat()} 到期，逾期 {item.days_late} 天才回款")
        return points
