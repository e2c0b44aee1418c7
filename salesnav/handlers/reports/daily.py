"""The rep's daily report (日报) that writes itself: built from what the rep logged that business day — touchpoints
with their next actions, deals created or moved, payments recorded — plus any line the rep added by text or
voice. The rep confirms it with one tap; a day already captured needs nothing typed.

Confirmations and added lines are domain events on the rep (subject "user"), so the report is always rebuilt
from the records themselves and never drifts from them: a touchpoint logged after the card went out is in the
report the next time it is shown.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from salesnav import clock
from salesnav.handlers.errors import DomainError
from salesnav.handlers.records import record_event
from salesnav.handlers.reports.schedule import ReportSettings, day_window
from salesnav.models import (
    Customer,
    DomainEvent,
    Opportunity,
    Payment,
    Receivable,
    Stage,
    StageTransition,
    Touchpoint,
    User,
)
from salesnav.models.touchpoints import ANY_CONTACT_BIT

CONFIRMED = "daily_report.confirmed"
LINE_ADDED = "daily_report.line_added"
ADDING = "daily_report.adding_started"
LINE_LIMIT = 300
EMPTY_LINE = "补充内容不能为空，请直接发一句话或一段语音"


@dataclass(frozen=True)
class TouchpointLine:
    id: int
    customer: str
    type_label: str
    emotion_label: str
    summary: str
    next_action: str | None
    next_action_due: datetime | None
    effective: bool


@dataclass(frozen=True)
class DealLine:
    opportunity_id: int
    customer: str
    title: str
    from_stage: str | None  # None: created that day
    to_stage: str


@dataclass(frozen=True)
class PaymentLine:
    customer: str
    amount_fen: int
    paid_at: datetime


@dataclass
class DailyReport:
    rep_id: int
    rep_name: str
    rep_userid: str
    day: date
    touchpoints: list[TouchpointLine] = field(default_factory=list)
    deals: list[DealLine] = field(default_factory=list)
    payments: list[PaymentLine] = field(default_factory=list)
    added_lines: list[str] = field(default_factory=list)
    confirmed_at: datetime | None = None

    @property
    def key(self) -> str:
        """The outbox idempotency key of the day's card: one per rep and day."""
        return f"daily_report:{self.rep_id}:{self.day.isoformat()}"

    @property
    def effective_count(self) -> int:
        return sum(1 for t in self.touchpoints if t.effective)

    @property
    def next_actions(self) -> list[TouchpointLine]:
        return [t for t in self.touchpoints if t.next_action]

    @property
    def payment_total_fen(self) -> int:
        return sum(p.amount_fen for p in self.payments)

    @property
    def captured(self) -> bool:
        """Whether the day already holds anything: then the rep only confirms."""
        return bool(self.touchpoints or self.deals or self.payments or self.added_lines)


def build(session: Session, reps: list[User], day: date, tz: ZoneInfo) -> list[DailyReport]:
    """The daily reports of `reps` for `day`: five statements, whatever the number of reps."""
    if not reps:
        return []
    window = day_window(day, tz)
    by_id = {r.id: DailyReport(r.id, r.name, r.wecom_userid, day) for r in reps}
    ids = list(by_id)
    for tp, customer in session.execute(
        select(Touchpoint, Customer.name)
        .join(Customer, Customer.id == Touchpoint.customer_id)
        .where(Touchpoint.rep_id.in_(ids), window.contains(Touchpoint.occurred_at), Touchpoint.deleted_at.is_(None))
        .order_by(Touchpoint.occurred_at, Touchpoint.id)
    ):
        by_id[tp.rep_id].touchpoints.append(
            TouchpointLine(
                tp.id,
                customer,
                tp.type.label,
                tp.emotion.label,
                tp.summary or "",
                tp.next_action,
                tp.next_action_due,
                # 有效触点, as the metrics count it (is_effective): next action with its due, a contact present.
                Touchpoint.effective(tp.next_action, tp.next_action_due, bool(tp.contact_roles & ANY_CONTACT_BIT)),
            )
        )
    source, target = aliased(Stage), aliased(Stage)
    for owner_id, opp_id, customer, title, from_name, to_name in session.execute(
        select(Opportunity.owner_id, Opportunity.id, Customer.name, Opportunity.title, source.name, target.name)
        .select_from(StageTransition)
        .join(Opportunity, Opportunity.id == StageTransition.opportunity_id)
        .join(Customer, Customer.id == Opportunity.customer_id)
        .outerjoin(source, source.id == StageTransition.from_stage_id)
        .join(target, target.id == StageTransition.to_stage_id)
        .where(
            Opportunity.owner_id.in_(ids),
            window.contains(StageTransition.occurred_at),
            Opportunity.deleted_at.is_(None),
        )
        .order_by(StageTransition.occurred_at, StageTransition.id)
    ):
        by_id[owner_id].deals.append(DealLine(opp_id, customer, title, from_name, to_name))
    for recorder, customer, amount, paid_at in session.execute(
        select(Payment.recorded_by_id, Customer.name, Payment.amount_fen, Payment.paid_at)
        .join(Receivable, Receivable.id == Payment.receivable_id)
        .join(Customer, Customer.id == Receivable.customer_id)
        .where(Payment.recorded_by_id.in_(ids), window.contains(Payment.created_at))
        .order_by(Payment.id)
    ):
        if recorder is not None:  # the query keeps only payments these reps recorded
            by_id[recorder].payments.append(PaymentLine(customer, amount, paid_at))
    for event in session.scalars(
        select(DomainEvent)
        .where(
            DomainEvent.kind.in_((CONFIRMED, LINE_ADDED)),
            DomainEvent.subject_type == "user",
            DomainEvent.subject_id.in_(ids),
            DomainEvent.occurred_at >= window.start,  # a day's events are made on it or later
        )
        .order_by(DomainEvent.id)
    ):
        if event.payload.get("day") != day.isoformat():
            continue
        report = by_id[event.subject_id]
        if event.kind == LINE_ADDED:
            report.added_lines.append(str(event.payload.get("text", "")))
        elif report.confirmed_at is None:
            report.confirmed_at = event.occurred_at
    return [by_id[r.id] for r in reps]


def report_for(session: Session, rep: User, day: date, tz: ZoneInfo) -> DailyReport:
    return build(session, [rep], day, tz)[0]


def confirm(session: Session, rep: User, day: date, tz: ZoneInfo) -> DailyReport:
    """The rep's one tap: the day's report is confirmed as it stands (a second tap changes nothing)."""
    report = report_for(session, rep, day, tz)
    if report.confirmed_at is None:
        event = record_event(session, CONFIRMED, "user", rep.id, rep, day=day.isoformat())
        report.confirmed_at = event.occurred_at
    return report


def add_line(session: Session, rep: User, day: date, text: str, tz: ZoneInfo, *, source: str) -> DailyReport:
    """A line the rep adds to the day's report, typed or spoken (`source`: "text" or "voice")."""
    line = " ".join((text or "").split())
    if not line:
        raise DomainError(EMPTY_LINE)
    record_event(session, LINE_ADDED, "user", rep.id, rep, day=day.isoformat(), text=line[:LINE_LIMIT], source=source)
    return report_for(session, rep, day, tz)


def start_adding(session: Session, rep: User, day: date) -> None:
    """The rep tapped 补充: their next text or voice message (within `reports.add_window_minutes`) is a line."""
    record_event(session, ADDING, "user", rep.id, rep, day=day.isoformat())


def pending_addition(session: Session, rep: User) -> date | None:
    """The day whose report waits for the rep's line (补充 tapped within the window, no line since), if any."""
    minutes = ReportSettings.load(session).add_window_minutes
    started = session.scalars(
        select(DomainEvent)
        .where(
            DomainEvent.kind == ADDING,
            DomainEvent.subject_type == "user",
            DomainEvent.subject_id == rep.id,
            DomainEvent.occurred_at >= clock.now() - timedelta(minutes=minutes),
        )
        .order_by(DomainEvent.id.desc())
        .limit(1)
    ).first()
    if started is None:
        return None
    added = session.scalar(
        select(DomainEvent.id)
        .where(
            DomainEvent.kind == LINE_ADDED,
            DomainEvent.subject_type == "user",
            DomainEvent.subject_id == rep.id,
            DomainEvent.id > started.id,
        )
        .limit(1)
    )
    return None if added is not None else date.fromisoformat(str(started.payload["day"]))
