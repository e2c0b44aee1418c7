"""Everything the battle packs of many reps need, loaded with a fixed number of queries.

The reps in scope are a SQL subquery (all active reps still without today's pack, or given ids),
and every query below filters by it: 1,000 or 10,000 reps cost the same number of round trips
(no IN-lists of ids, no per-rep query, no lazy loads). Rows are plain dataclasses keyed by rep.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import Select, String, and_, case, cast, exists, func, literal, or_, select
from sqlalchemy.orm import Session, aliased

from salesnav.handlers import rule_settings
from salesnav.handlers.follow_up_policy import FollowUpPolicy, follow_up_policy
from salesnav.handlers.win_probability import model_in_use, win_probabilities
from salesnav.models import (
    Contact,
    Customer,
    Health,
    Material,
    Opportunity,
    OpportunityStatus,
    OutboundMessage,
    Role,
    Stage,
    StageTransition,
    Task,
    TaskStatus,
    Touchpoint,
    User,
    touchpoint_contacts,
)

KEY_PREFIX = "battle_pack"


def pack_key(rep_id: int, day: date) -> str:
    """The outbox idempotency key: one pack per rep per business day, however many clocks tick."""
    return f"{KEY_PREFIX}:{rep_id}:{day.isoformat()}"


@dataclass(frozen=True)
class PackSettings:
    enabled: bool
    hour: int
    last_hour: int  # a pack not sent by this hour (a clock down, a first start in the evening) waits for tomorrow
    chinese_calendar: bool
    due_soon_hours: int
    overdue_lookback_days: int
    history_days: int
    min_similar_won: int
    follow_up: FollowUpPolicy

    @classmethod
    def load(cls, session: Session) -> PackSettings:
        pack = rule_settings.battle_pack(session)
        return cls(
            enabled=pack.enabled,
            hour=pack.hour,
            last_hour=pack.last_hour,
            chinese_calendar=pack.chinese_calendar,
            due_soon_hours=pack.due_soon_hours,
            overdue_lookback_days=pack.overdue_lookback_days,
            history_days=pack.history_days,
            min_similar_won=pack.min_similar_won,
            follow_up=follow_up_policy(session),
        )


@dataclass(frozen=True, slots=True)
class StageRow:
    id: int
    code: str
    name: str
    position: int
    win_probability: int


@dataclass(frozen=True, slots=True)
class RepRow:
    id: int
    userid: str
    name: str


@dataclass(frozen=True, slots=True)
class DealRow:
    """An open opportunity of a rep in scope, with its customer."""

    id: int
    owner_id: int
    title: str
    product_line: str
    amount_fen: int
    stage_id: int
    last_follow_up_at: datetime
    stage_entered_at: datetime
    customer_id: int
    customer_name: str
    customer_grade: str | None
    customer_kind: str
    customer_health: Health
    started_at: datetime | None = None  # its first stage transition (creation)


@dataclass(frozen=True, slots=True)
class TaskRow:
    id: int
    assignee_id: int
    title: str
    due_at: datetime | None
    opportunity_id: int | None
    amount_fen: int | None
    stage_id: int | None
    customer_id: int | None
    customer_name: str | None
    customer_health: Health | None


@dataclass(frozen=True, slots=True)
class NextActionRow:
    """A touchpoint's next action, still the latest word on that customer from this rep."""

    touchpoint_id: int
    rep_id: int
    action: str
    due_at: datetime
    opportunity_id: int | None
    customer_id: int
    customer_name: str
    customer_health: Health
    contact_name: str | None = None
    contact_title: str | None = None


@dataclass(frozen=True, slots=True)
class WonDeal:
    id: int
    product_line: str
    customer_grade: str | None
    path: tuple[tuple[int, datetime], ...]  # (stage id, entered at), in order; the last is 赢单
    closed_at: datetime


@dataclass(frozen=True, slots=True)
class MaterialRow:
    id: int
    title: str
    description: str | None
    product_line: str | None
    stage_code: str | None
    customer_kind: str | None
    url: str | None
    attachment_id: int | None
    published_at: datetime


@dataclass
class Snapshot:
    now: datetime
    settings: PackSettings
    stages: dict[int, StageRow]
    reps: list[RepRow]
    deals: dict[int, list[DealRow]] = field(default_factory=lambda: defaultdict(list))
    tasks: dict[int, list[TaskRow]] = field(default_factory=lambda: defaultdict(list))
    next_actions: dict[int, list[NextActionRow]] = field(default_factory=lambda: defaultdict(list))
    won: list[WonDeal] = field(default_factory=list)
    materials: list[MaterialRow] = field(default_factory=list)
    # The learned win probability (percent) of each open deal in scope, when a model is in use
    # (salesnav/handlers/win_probability.py); a deal not in it is ranked by its stage's table probability.
    win: dict[int, int] = field(default_factory=dict)


def rep_scope(*, rep_ids: Iterable[int] | None = None, without_pack_on: date | None = None) -> Select[int]:
    """The reps a load is for, as a subquery. `rep_ids` given: exactly those users (any role, e.g. a
    manager asking for their own pack); otherwise every active rep. `without_pack_on`: only those whose
    pack for that day is not in the outbox yet (an anti-join on the outbox's unique key)."""
    if rep_ids is not None:
        query = select(User.id).where(User.id.in_(list(rep_ids)))
    else:
        query = select(User.id).where(User.role == Role.REP, User.active.is_(True), User.deleted_at.is_(None))
    if without_pack_on is not None:
        key = literal(f"{KEY_PREFIX}:", String) + cast(User.id, String) + literal(f":{without_pack_on.isoformat()}")
        query = query.where(~exists().where(OutboundMessage.idempotency_key == key))
    return query


def load(session: Session, now: datetime, scope: Select[int], settings: PackSettings | None = None) -> Snapshot:
    settings = settings or PackSettings.load(session)
    stages = {
        s.id: StageRow(s.id, s.code, s.name, s.position, s.win_probability)
        for s in session.execute(select(Stage.id, Stage.code, Stage.name, Stage.position, Stage.win_probability))
    }
    reps = [
        RepRow(r.id, r.wecom_userid, r.name)
        for r in session.execute(
            select(User.id, User.wecom_userid, User.name).where(User.id.in_(scope)).order_by(User.id)
        )
    ]
    snap = Snapshot(now=now, settings=settings, stages=stages, reps=reps)
    if not reps:
        return snap
    _load_deals(session, snap, scope)
    _load_win(session, snap)
    _load_tasks(session, snap, scope)
    _load_next_actions(session, snap, scope)
    _load_won(session, snap)
    _load_materials(session, snap)
    return snap


def _open_deals_of(scope: Select[int]) -> Select[int]:
    return select(Opportunity.id).where(
        Opportunity.owner_id.in_(scope),
        Opportunity.status == OpportunityStatus.OPEN,
        Opportunity.deleted_at.is_(None),
    )


def _load_deals(session: Session, snap: Snapshot, scope: Select[int]) -> None:
    started: dict[int, datetime] = {
        opp_id: at
        for opp_id, at in session.execute(
            select(StageTransition.opportunity_id, func.min(StageTransition.occurred_at))
            .where(StageTransition.opportunity_id.in_(_open_deals_of(scope)))
            .group_by(StageTransition.opportunity_id)
        )
    }
    rows = session.execute(
        select(
            Opportunity.id,
            Opportunity.owner_id,
            Opportunity.title,
            Opportunity.product_line,
            Opportunity.expected_amount_fen,
            Opportunity.stage_id,
            Opportunity.last_follow_up_at,
            Opportunity.stage_entered_at,
            Customer.id.label("customer_id"),
            Customer.name,
            Customer.grade,
            Customer.kind,
            Customer.health,
        )
        .join(Customer, Customer.id == Opportunity.customer_id)
        .where(Opportunity.id.in_(_open_deals_of(scope)))
        .order_by(Opportunity.id)
    )
    for r in rows:
        snap.deals[r.owner_id].append(
            DealRow(
                r.id,
                r.owner_id,
                r.title,
                r.product_line,
                r.expected_amount_fen,
                r.stage_id,
                r.last_follow_up_at,
                r.stage_entered_at,
                r.customer_id,
                r.name,
                r.grade,
                r.kind.value,
                r.health,
                started.get(r.id),
            )
        )


def _load_win(session: Session, snap: Snapshot) -> None:
    if model_in_use(session) is None:
        return  # the stage table: what StageRow already holds
    ids = [d.id for deals in snap.deals.values() for d in deals]
    snap.win = {i: p.percent for i, p in win_probabilities(session, ids, snap.now).items()}


def _load_tasks(session: Session, snap: Snapshot, scope: Select[int]) -> None:
    opp, cust = aliased(Opportunity), aliased(Customer)
    customer_id = case((Task.subject_type == "customer", Task.subject_id), else_=opp.customer_id)
    rows = session.execute(
        select(
            Task.id,
            Task.assignee_id,
            Task.title,
            Task.due_at,
            opp.id.label("opp_id"),
            opp.expected_amount_fen,
            opp.stage_id,
            cust.id.label("customer_id"),
            cust.name,
            cust.health,
        )
        .outerjoin(opp, and_(Task.subject_type == "opportunity", opp.id == Task.subject_id))
        .outerjoin(cust, cust.id == customer_id)
        .where(Task.assignee_id.in_(scope), Task.status == TaskStatus.OPEN)
        .order_by(Task.id)
    )
    for r in rows:
        snap.tasks[r.assignee_id].append(
            TaskRow(
                r.id,
                r.assignee_id,
                r.title,
                r.due_at,
                r.opp_id,
                r.expected_amount_fen,
                r.stage_id,
                r.customer_id,
                r.name,
                r.health,
            )
        )


def _load_next_actions(session: Session, snap: Snapshot, scope: Select[int]) -> None:
    now, s = snap.now, snap.settings
    later = aliased(Touchpoint)
    # A later touchpoint by the same rep with the same customer supersedes this one's next action.
    due = and_(
        Touchpoint.rep_id.in_(scope),
        Touchpoint.deleted_at.is_(None),
        Touchpoint.next_action.is_not(None),
        Touchpoint.next_action != "",
        Touchpoint.next_action_due >= now - timedelta(days=s.overdue_lookback_days),
        Touchpoint.next_action_due <= now + timedelta(hours=s.due_soon_hours),
        ~exists().where(
            later.rep_id == Touchpoint.rep_id,
            later.customer_id == Touchpoint.customer_id,
            later.deleted_at.is_(None),
            or_(
                later.occurred_at > Touchpoint.occurred_at,
                and_(later.occurred_at == Touchpoint.occurred_at, later.id > Touchpoint.id),
            ),
        ),
    )
    contacts: dict[int, tuple[str, str | None]] = {}
    for tp_id, name, title in session.execute(
        select(touchpoint_contacts.c.touchpoint_id, Contact.name, Contact.title)
        .join(Contact, Contact.id == touchpoint_contacts.c.contact_id)
        .where(touchpoint_contacts.c.touchpoint_id.in_(select(Touchpoint.id).where(due)))
        .order_by(Contact.id)
    ):
        contacts.setdefault(tp_id, (name, title))  # the first contact present speaks for the meeting
    rows = session.execute(
        select(
            Touchpoint.id,
            Touchpoint.rep_id,
            Touchpoint.next_action,
            Touchpoint.next_action_due,
            Touchpoint.opportunity_id,
            Customer.id.label("customer_id"),
            Customer.name,
            Customer.health,
        )
        .join(Customer, Customer.id == Touchpoint.customer_id)
        .where(due)
        .order_by(Touchpoint.id)
    )
    for r in rows:
        name, title = contacts.get(r.id, (None, None))
        snap.next_actions[r.rep_id].append(
            NextActionRow(
                r.id,
                r.rep_id,
                r.next_action.strip(),
                r.next_action_due,
                r.opportunity_id,
                r.customer_id,
                r.name,
                r.health,
                name,
                title,
            )
        )


def _load_won(session: Session, snap: Snapshot) -> None:
    """Similar won deals are company-wide: one rep learns from everybody's wins."""
    won = select(Opportunity.id).where(
        Opportunity.status == OpportunityStatus.WON,
        Opportunity.deleted_at.is_(None),
        Opportunity.closed_at >= snap.now - timedelta(days=snap.settings.history_days),
    )
    paths: dict[int, list[tuple[int, datetime]]] = defaultdict(list)
    for opp_id, stage_id, at in session.execute(
        select(StageTransition.opportunity_id, StageTransition.to_stage_id, StageTransition.occurred_at)
        .where(StageTransition.opportunity_id.in_(won))
        .order_by(StageTransition.opportunity_id, StageTransition.occurred_at, StageTransition.id)
    ):
        paths[opp_id].append((stage_id, at))
    for r in session.execute(
        select(Opportunity.id, Opportunity.product_line, Customer.grade, Opportunity.closed_at)
        .join(Customer, Customer.id == Opportunity.customer_id)
        .where(Opportunity.id.in_(won))
        .order_by(Opportunity.id)
    ):
        if paths.get(r.id):
            snap.won.append(WonDeal(r.id, r.product_line, r.grade, tuple(paths[r.id]), r.closed_at))


def _load_materials(session: Session, snap: Snapshot) -> None:
    snap.materials = [
        MaterialRow(
            r.id,
            r.title,
            r.description,
            r.product_line,
            r.stage_code,
            r.customer_kind,
            r.url,
            r.attachment_id,
            r.published_at,
        )
        for r in session.execute(
            select(
                Material.id,
                Material.title,
                Material.description,
                Material.product_line,
                Material.stage_code,
                Material.customer_kind,
                Material.url,
                Material.attachment_id,
                Material.published_at,
            )
            .where(Material.deleted_at.is_(None), Material.retired_at.is_(None), Material.published_at <= snap.now)
            .order_by(Material.id)
        )
    ]
