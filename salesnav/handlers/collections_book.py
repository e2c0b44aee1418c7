"""The collections book (回款台账): open receivables in the viewer's scope, aged, with the on-time rate.

Ageing buckets by days past the due date (business time): 未到期, 1–30, 31–60, 61–90, 90 天以上. Outstanding is
the receivable's amount − its payments, as the credit check, the reminders and the team report count it.

The on-time rate is the credit check's own (`salesnav.finance`): for a customer, `payment_history` — the finance
system when FINANCE_API_URL is configured, otherwise our receivables — over `credit.window_months`; for a team,
the same per-receivable rule (`finance.receivables.lateness`) over the team's receivables. When the finance
system is the source, the team figure is not ours to compute: the page says so and each customer's page asks it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from salesnav import clock
from salesnav.finance import FinanceUnavailable, PaymentHistory, payment_history
from salesnav.finance.receivables import fell_due, history_of
from salesnav.handlers import rule_settings
from salesnav.handlers.scope import customer_for, owned_by_visible
from salesnav.models import Contract, Customer, Opportunity, Payment, Receivable, User
from salesnav.settings import current_settings

BUCKETS = ("未到期", "1–30 天", "31–60 天", "61–90 天", "90 天以上")
MAX_ROWS = 5000


def bucket_of(due_date: date, today: date) -> int:
    """The ageing bucket (index into BUCKETS) of an open receivable due on `due_date`."""
    days = (today - due_date).days
    if days <= 0:
        return 0
    if days <= 30:
        return 1
    if days <= 60:
        return 2
    if days <= 90:
        return 3
    return 4


@dataclass(frozen=True)
class BookRow:
    receivable_id: int
    customer_id: int
    customer_name: str
    owner_id: int
    owner_name: str
    opportunity_id: int | None
    opportunity_title: str | None
    contract_no: str | None
    instalment_no: int | None
    invoice_no: str | None
    amount_fen: int
    paid_fen: int
    due_date: date
    today: date

    @property
    def outstanding_fen(self) -> int:
        return self.amount_fen - self.paid_fen

    @property
    def days_overdue(self) -> int:
        return max((self.today - self.due_date).days, 0)

    @property
    def bucket(self) -> str:
        return BUCKETS[bucket_of(self.due_date, self.today)]

    @property
    def what(self) -> str:
        if self.instalment_no:
            return f"第 {self.instalment_no} 期" + (f"（合同 {self.contract_no}）" if self.contract_no else "")
        return f"发票 {self.invoice_no}" if self.invoice_no else "应收款"


@dataclass(frozen=True)
class Bucket:
    label: str
    count: int
    outstanding_fen: int


@dataclass
class Book:
    today: date
    rows: list[BookRow]
    on_time: PaymentHistory | None  # None: not computed here (see on_time_note)
    on_time_note: str | None = None
    window_months: int = 12
    truncated: bool = False
    buckets: list[Bucket] = field(default_factory=list)

    def __post_init__(self) -> None:
        counts = [0] * len(BUCKETS)
        sums = [0] * len(BUCKETS)
        for row in self.rows:
            i = bucket_of(row.due_date, self.today)
            counts[i] += 1
            sums[i] += row.outstanding_fen
        self.buckets = [Bucket(label, counts[i], sums[i]) for i, label in enumerate(BUCKETS)]

    @property
    def outstanding_fen(self) -> int:
        return sum(r.outstanding_fen for r in self.rows)

    @property
    def overdue_fen(self) -> int:
        return sum(b.outstanding_fen for b in self.buckets[1:])

    @property
    def overdue_rows(self) -> list[BookRow]:
        return [r for r in self.rows if r.days_overdue > 0]


def business_today() -> date:
    return clock.now().astimezone(current_settings().business_tz).date()


def _paid() -> ColumnElement[int]:
    return (
        select(func.coalesce(func.sum(Payment.amount_fen), 0))
        .where(Payment.receivable_id == Receivable.id)
        .correlate(Receivable)
        .scalar_subquery()
    )


def _rows(
    session: Session, where: ColumnElement[bool], today: date, limit: int = MAX_ROWS
) -> tuple[list[BookRow], bool]:
    paid = _paid()
    result = session.execute(
        select(
            Receivable.id,
            Customer.id,
            Customer.name,
            User.id,
            User.name,
            Opportunity.id,
            Opportunity.title,
            Contract.contract_no,
            Receivable.instalment_no,
            Receivable.invoice_no,
            Receivable.amount_fen,
            paid,
            Receivable.due_date,
        )
        .join(Customer, Customer.id == Receivable.customer_id)
        .join(User, User.id == Customer.owner_id)
        .outerjoin(Opportunity, Opportunity.id == Receivable.opportunity_id)
        .outerjoin(Contract, Contract.id == Receivable.contract_id)
        .where(where, Customer.deleted_at.is_(None), Receivable.amount_fen - paid > 0)
        .order_by(Receivable.due_date, Receivable.id)
        .limit(limit + 1)
    ).all()
    rows = [
        BookRow(rid, cid, cname, oid, oname, did, title, cno, ino, invoice, amount, int(got), due, today)
        for rid, cid, cname, oid, oname, did, title, cno, ino, invoice, amount, got, due in result[:limit]
    ]
    return rows, len(result) > limit


def open_rows(
    session: Session, actor: User, *, customer_id: int | None = None, limit: int = MAX_ROWS
) -> tuple[list[BookRow], bool]:
    """The book's rows alone (the export): the viewer's scope, or one customer in it; (rows, more than `limit`)."""
    if customer_id is not None:
        customer = customer_for(session, actor, customer_id)
        return _rows(session, Receivable.customer_id == customer.id, business_today(), limit)
    return _rows(session, owned_by_visible(session, actor, Customer.owner_id), business_today(), limit)


def team_book(session: Session, actor: User) -> Book:
    """Every open receivable of the customers `actor` may see (a rep their own, a manager their team's)."""
    today = business_today()
    months = rule_settings.credit(session).window_months
    visible = owned_by_visible(session, actor, Customer.owner_id)
    rows, truncated = _rows(session, visible, today)
    if current_settings().finance_api_url:
        return Book(today, rows, None, "按时回款率以财务系统为准，请在各客户的回款页查看", months, truncated=truncated)
    customers = select(Customer.id).where(visible, Customer.deleted_at.is_(None))
    due = fell_due(session, Receivable.customer_id.in_(customers), as_of=clock.now(), months=months)
    return Book(today, rows, history_of(due, today, current_settings().business_tz), None, months, truncated)


def customer_book(session: Session, actor: User, customer_id: int) -> tuple[Customer, Book]:
    """One customer's open receivables and their on-time rate exactly as the credit check reads it."""
    customer = customer_for(session, actor, customer_id)
    today = business_today()
    months = rule_settings.credit(session).window_months
    rows, truncated = _rows(session, Receivable.customer_id == customer.id, today)
    try:
        history = payment_history(
            session,
            customer,
            as_of=clock.now(),
            months=months,
            api_url=current_settings().finance_api_url,
            timeout=rule_settings.credit(session).finance_timeout_seconds,
        )
    except FinanceUnavailable as exc:
        return customer, Book(today, rows, None, f"按时回款率暂无法获取：{exc.reason}", months, truncated)
    return customer, Book(today, rows, history, None, months, truncated)


def overdue_fen_by(
    session: Session,
    column: InstrumentedAttribute[int] | InstrumentedAttribute[int | None],
    ids: Iterable[int],
    *,
    today: date | None = None,
) -> dict[int, int]:
    """Outstanding past the due date, per customer (`Receivable.customer_id`) or deal (`Receivable.opportunity_id`)."""
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    day = today or business_today()
    paid = _paid()
    left = Receivable.amount_fen - paid
    out: dict[int, int] = {}
    for start in range(0, len(wanted), 1000):
        rows = session.execute(
            select(column, func.sum(left))
            .where(column.in_(wanted[start : start + 1000]), Receivable.due_date < day, left > 0)
            .group_by(column)
        )
        out.update({key: int(total or 0) for key, total in rows if key is not None})
    return out
