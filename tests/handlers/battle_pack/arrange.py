"""Hand-built battle-pack data: deals with chosen histories, tasks, next actions, materials."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from salesnav.models import Contact, Customer, Health, Material, Opportunity, Task, User
from tests.metrics import builders

SHANGHAI = ZoneInfo("Asia/Shanghai")
DEFAULT_PATH = ("initial_contact", "needs_confirmed", "solution_demo", "negotiation", "contract_approval", "won")


def local(day: date, hour: int, minute: int = 0) -> datetime:
    """A business-time moment (Shanghai) as aware UTC."""
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=SHANGHAI).astimezone(UTC)


def customer(
    session: Session,
    owner: User,
    name: str,
    *,
    grade: str = "三甲",
    health: Health = Health.GREEN,
    contact: tuple[str, str] | None = None,
) -> Customer:
    c = Customer(name=name, grade=grade, region="上海", owner_id=owner.id, health=health)
    session.add(c)
    session.flush()
    if contact:
        session.add(Contact(customer_id=c.id, name=contact[0], title=contact[1]))
        session.flush()
    return c


def open_deal(
    session: Session,
    owner: User,
    cust: Customer,
    *,
    product_line: str,
    stage: str,
    amount_yuan: int,
    stage_entered_at: datetime,
    last_follow_up_at: datetime | None = None,
    started_at: datetime | None = None,
) -> Opportunity:
    start = started_at or stage_entered_at - timedelta(days=1)
    path = [("initial_contact", start)] if stage != "initial_contact" else []
    path.append((stage, stage_entered_at))
    opp = builders.deal(session, owner, cust, path, product_line=product_line)
    opp.expected_amount_fen = amount_yuan * 100
    opp.last_follow_up_at = last_follow_up_at or stage_entered_at
    session.flush()
    return opp


def won_deal(
    session: Session,
    owner: User,
    cust: Customer,
    *,
    product_line: str,
    start: datetime,
    days: Sequence[int],
    stages: Sequence[str] = DEFAULT_PATH,
) -> Opportunity:
    """A won deal entering `stages[i]` at start + days[i] days."""
    path = [(code, start + timedelta(days=d)) for code, d in zip(stages, days, strict=True)]
    return builders.deal(session, owner, cust, path, product_line=product_line)


def next_action(
    session: Session,
    rep: User,
    cust: Customer,
    *,
    at: datetime,
    action: str,
    due: datetime,
    opp: Opportunity | None = None,
):  # type: ignore[no-untyped-def]
    tp = builders.touchpoint(
        session, rep, cust, at, contacts=cust.contacts[:1], next_action=action, next_action_due=due
    )
    if opp is not None:
        tp.opportunity_id = opp.id
        session.flush()
    return tp


def task(
    session: Session,
    rep: User,
    title: str,
    *,
    due: datetime | None,
    opp: Opportunity | None = None,
    origin: str = "manual",
) -> Task:
    t = Task(
        assignee_id=rep.id,
        title=title,
        due_at=due,
        origin=origin,
        subject_type="opportunity" if opp else None,
        subject_id=opp.id if opp else None,
    )
    session.add(t)
    session.flush()
    return t


def material(
    session: Session,
    title: str,
    *,
    product_line: str | None = None,
    stage_code: str | None = None,
    customer_kind: str | None = None,
    published_at: datetime,
    retired: bool = False,
    url: str | None = None,
) -> Material:
    m = Material(
        title=title,
        product_line=product_line,
        stage_code=stage_code,
        customer_kind=customer_kind,
        published_at=published_at,
        retired_at=published_at if retired else None,
        url=url,
    )
    session.add(m)
    session.flush()
    return m
