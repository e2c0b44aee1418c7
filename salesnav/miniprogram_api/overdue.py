"""`overdue_receivable_fen` on customers and deals: outstanding past the due date (handlers/collections_book).

A list page computes it for its whole page in one statement (`annotate`); a single record asks on dump."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from salesnav.handlers.collections_book import overdue_fen_by
from salesnav.miniprogram_api.schemas import Number
from salesnav.miniprogram_api.unit_of_work import db_session
from salesnav.models import Customer, Opportunity, Receivable

ATTR = "_overdue_receivable_fen"
DESCRIPTION = {"description": "逾期未回款金额（分）：已过到期日、尚未回款的应收合计"}


def _column(obj: Any) -> Any:
    return Receivable.customer_id if isinstance(obj, Customer) else Receivable.opportunity_id


def annotate(items: Iterable[Customer | Opportunity]) -> None:
    rows = list(items)
    if not rows:
        return
    found = overdue_fen_by(db_session(), _column(rows[0]), [r.id for r in rows])
    for row in rows:
        setattr(row, ATTR, found.get(row.id, 0))


def _value(obj: Customer | Opportunity) -> int:
    if ATTR not in obj.__dict__:
        annotate([obj])
    return int(obj.__dict__[ATTR])


def field() -> Number:
    return Number(_value, required=True, metadata=DESCRIPTION)
