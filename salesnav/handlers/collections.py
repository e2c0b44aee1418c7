"""回款 reminders on our own receivables: the rep hears of a receivable before its due date and when it is
overdue; an overdue receivable is flagged once to the rep's manager (an alert, so the manager's 批注 and the
manager intervention rate work on it as on any other), and a payment that settles it clears the flag.

- `reports.receivable_remind_days_before` (3) days before the due date (business time): one reminder to the
  customer's owner, if anything is still outstanding.
- The day after the due date with anything outstanding: one alert (rule "receivable_overdue", subject the
  customer, one episode per receivable), a message to the rep and to their manager.
- An instalment of a contract's plan (handlers/contracts.py) is a receivable like any other; its number is named.
- Paid in full (payments recorded from invoice photos, entered against a deal, or imported): the alert is
  resolved and the manager told.

Outstanding = the receivable's amount − the sum of its payments, as the credit check and the team report count it.
When the finance system is configured it stays the source of the on-time rate; these reminders read our rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, String, cast, exists, func, literal, or_, select
from sqlalchemy.orm import Session

from salesnav.handlers import rule_settings
from salesnav.handlers.money import fen_to_yuan_text
from salesnav.handlers.records import record_event
from salesnav.handlers.rules import engine
from salesnav.models import Alert, Customer, DomainEvent, Payment, Receivable, User

RULE = "receivable_overdue"
REMINDED = "receivable.due_soon_reminded"  # a DomainEvent on the receivable: its reminder was queued
BATCH = 500
# Debts overdue longer than this are the finance department's (and already in every team report): they are not
# flagged afresh, so switching the reminders on does not flood managers with last year's arrears.
OVERDUE_HORIZON_DAYS = 90


@dataclass
class CollectionsRun:
    reminded: int = 0
    flagged: int = 0
    cleared: int = 0


def _outstanding() -> ColumnElement[int]:
    paid = (
        select(func.coalesce(func.sum(Payment.amount_fen), 0))
        .where(Payment.receivable_id == Receivable.id)
        .correlate(Receivable)
        .scalar_subquery()
    )
    return Receivable.amount_fen - paid


def run(session: Session, now: datetime, tz: ZoneInfo) -> CollectionsRun:
    today = now.astimezone(tz).date()
    days = rule_settings.reports(session).receivable_remind_days_before
    outstanding = _outstanding()
    done = CollectionsRun()
    # Only the receivables something is still owed to: due soon and not yet reminded, or overdue and not yet
    # flagged — so a batch never fills with receivables already handled and every one is reached in turn.
    flag_key = literal(f"{RULE}:customer:") + cast(Receivable.customer_id, String) + ":receivable"
    flag_key = flag_key + cast(Receivable.id, String)
    flagged = exists().where(Alert.idempotency_key == flag_key)
    reminded = exists().where(
        DomainEvent.subject_type == "receivable", DomainEvent.subject_id == Receivable.id, DomainEvent.kind == REMINDED
    )
    rows = session.execute(
        select(Receivable, Customer, outstanding)
        .join(Customer, Customer.id == Receivable.customer_id)
        .where(
            Receivable.due_date <= today + timedelta(days=days),
            Receivable.due_date >= today - timedelta(days=OVERDUE_HORIZON_DAYS),
            outstanding > 0,
            Customer.deleted_at.is_(None),
            or_((Receivable.due_date >= today) & ~reminded, (Receivable.due_date < today) & ~flagged),
        )
        .order_by(Receivable.due_date.desc(), Receivable.id)
        .limit(BATCH)
    ).all()
    for receivable, customer, left in rows:
        rep = session.get(User, customer.owner_id)
        due = receivable.due_date
        instalment = f"第 {receivable.instalment_no} 期 " if receivable.instalment_no else ""
        what = f"「{customer.name}」{instalment}{fen_to_yuan_text(int(left))}（{due.month}月{due.day}日到期"
        what += f"，发票号 {receivable.invoice_no}）" if receivable.invoice_no else "）"
        if receivable.due_date >= today:
            if engine.tell(
                session,
                rep,
                f"回款提醒：{what}即将到期，请跟进客户付款。",
                key=f"receivable:{receivable.id}:due_soon",
            ):
                done.reminded += 1
            record_event(session, REMINDED, "receivable", receivable.id, None, customer_id=customer.id)
            continue
        alert = engine.raise_alert(
            session,
            rule=RULE,
            subject_type="customer",
            subject_id=customer.id,
            episode=f"receivable{receivable.id}",
            title=f"逾期回款：{customer.name} {fen_to_yuan_text(int(left))}",
            now=now,
            detail={"receivable_id": receivable.id, "outstanding_fen": int(left)},
            recipient_ids=[u.id for u in engine.distinct_users(rep, engine.manager_of(session, rep) if rep else None)],
        )
        if alert is None:
            continue
        done.flagged += 1
        overdue = (today - receivable.due_date).days
        engine.tell(session, rep, f"回款已逾期 {overdue} 天：{what}，请尽快跟进。", key=f"alert:{alert.id}:rep")
        manager = engine.manager_of(session, rep) if rep else None
        engine.notify(
            session, alert, manager, f"逾期回款预警：{rep.name if rep else ''}负责的{what}已逾期 {overdue} 天。"
        )
    done.cleared = _clear_paid(session, now)
    return done


def _clear_paid(session: Session, now: datetime) -> int:
    """Resolve the overdue flags whose receivable is now paid in full, and tell the manager."""
    cleared = 0
    alerts = list(session.scalars(select(Alert).where(Alert.rule == RULE, Alert.state.in_(engine.OPEN_STATES))))
    ids = sorted({int(a.detail.get("receivable_id", 0)) for a in alerts})
    left_by_id: dict[int, int] = {}
    for start in range(0, len(ids), 1000):  # what is still owed on every flagged receivable, a statement per 1,000
        left_by_id.update(
            (rid, int(left))
            for rid, left in session.execute(
                select(Receivable.id, _outstanding()).where(Receivable.id.in_(ids[start : start + 1000]))
            )
        )
    for alert in alerts:
        rid = int(alert.detail.get("receivable_id", 0))
        if rid not in left_by_id or left_by_id[rid] > 0:
            continue
        receivable = session.get(Receivable, rid)
        assert receivable is not None
        if engine.resolve(session, alert, now=now, by_id=None, resolution="已回款"):
            cleared += 1
            customer = session.get(Customer, receivable.customer_id)
            rep = session.get(User, customer.owner_id) if customer else None
            manager = engine.manager_of(session, rep) if rep else None
            engine.tell(
                session,
                manager,
                f"逾期回款已收回：「{customer.name if customer else ''}」的应收款已付清，预警解除。",
                key=f"alert:{alert.id}:cleared",
            )
    return cleared
