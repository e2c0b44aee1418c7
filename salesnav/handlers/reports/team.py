"""Team reports (团队日报 / 周报): for each sales manager their team, for the director the whole sales force — the
few figures that matter and what needs someone today.

Figures come from salesnav/metrics/by_rep.py (the metrics' own definitions, per rep, summed per team), so a
team's report equals `metrics.*(session, window, Scope.team(manager))`. Attention lists:
- silent deals: open deals past the follow-up policy (handlers/follow_up_policy.py, the rule's own instant);
- red customers: health red;
- overdue tickets: collaboration parts still without a valid answer past their deadline;
- overdue receivables: receivables past their due date not paid in full;
- incomplete records: per rep, what handlers/reports/chase.py lists to them.

`load` reads everything for one scope with a fixed number of statements; `reports_for` cuts it per recipient
in memory, so the weekly reports for 500 managers cost the same statements as for one (bench/reports.py).
Scope is strict: a manager's report holds their team's reps only (Scope.team: the active reps reporting to
them directly or through a sub-manager); the director's holds every active rep.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from salesnav import metrics
from salesnav.handlers.errors import Forbidden
from salesnav.handlers.follow_up_policy import follow_up_policy, open_deals_by_owner
from salesnav.handlers.reports import daily
from salesnav.handlers.reports.chase import incomplete_counts
from salesnav.handlers.ticket_notices import WAITING
from salesnav.metrics.by_rep import RepCounts, TeamFigures, counts_by_rep
from salesnav.metrics.scope import Scope, ScopeKind, Window
from salesnav.metrics.sql import without_jit
from salesnav.models import (
    CollaborationTicket,
    Customer,
    Department,
    DomainEvent,
    Health,
    Opportunity,
    OpportunityStatus,
    Payment,
    Receivable,
    Role,
    Stage,
    TicketPart,
    User,
)

KINDS = {"daily": "团队日报", "weekly": "团队周报"}
ATTENTION_LIMIT = 50  # per list on a card or page; the workbook has every deal


@dataclass(frozen=True)
class DealRow:
    opportunity_id: int
    owner_id: int
    owner_name: str
    customer: str
    title: str
    product_line: str
    stage: str
    amount_fen: int
    last_follow_up_at: datetime
    stage_entered_at: datetime
    silent: bool
    silent_days: float  # calendar days since the last follow-up
    customer_red: bool


@dataclass(frozen=True)
class RedCustomer:
    customer_id: int
    name: str
    owner_id: int
    owner_name: str


@dataclass(frozen=True)
class OverduePart:
    part_id: int
    ticket_id: int
    department: str
    customer: str
    title: str
    owner_id: int
    due_at: datetime


@dataclass(frozen=True)
class OverdueReceivable:
    receivable_id: int
    customer: str
    owner_id: int
    outstanding_fen: int
    due_date: date
    days_overdue: int
    instalment_no: int | None = None  # an instalment of a contract's plan (handlers/contracts.py)


@dataclass(frozen=True)
class RepRow:
    rep_id: int
    name: str
    counts: RepCounts
    incomplete: int
    reports_confirmed: int
    open_deals: int
    pipeline_fen: int
    silent_deals: int


@dataclass
class TeamReport:
    kind: str  # daily | weekly
    recipient_id: int
    recipient_name: str
    recipient_userid: str
    company: bool  # the director's: every active rep
    window: Window
    now: datetime
    figures: TeamFigures
    reps: list[RepRow] = field(default_factory=list)
    deals: list[DealRow] = field(default_factory=list)  # every open deal, or the silent ones only (`load`)
    red_customers: list[RedCustomer] = field(default_factory=list)
    overdue_parts: list[OverduePart] = field(default_factory=list)
    overdue_receivables: list[OverdueReceivable] = field(default_factory=list)

    @property
    def title(self) -> str:
        return KINDS[self.kind]

    @property
    def key(self) -> str:
        """The outbox idempotency key: one report per recipient, kind and window."""
        return f"team_report:{self.kind}:{self.recipient_id}:{self.window.start:%Y%m%d%H}"

    @property
    def silent_deals(self) -> list[DealRow]:
        return sorted((d for d in self.deals if d.silent), key=lambda d: -d.silent_days)

    @property
    def incomplete_reps(self) -> list[RepRow]:
        return sorted((r for r in self.reps if r.incomplete), key=lambda r: -r.incomplete)

    @property
    def overdue_receivable_fen(self) -> int:
        return sum(r.outstanding_fen for r in self.overdue_receivables)

    @property
    def pipeline_fen(self) -> int:
        return sum(r.pipeline_fen for r in self.reps)

    @property
    def open_deals(self) -> int:
        return sum(r.open_deals for r in self.reps)

    @property
    def silent_count(self) -> int:
        return sum(r.silent_deals for r in self.reps)


@dataclass
class ScopeData:
    """What one scope's reports are cut from (read once)."""

    window: Window
    now: datetime
    names: dict[int, str]
    counts: dict[int, RepCounts]
    deals_by_owner: dict[int, list[DealRow]]
    pipeline_by_owner: dict[int, tuple[int, int, int]]  # open deals, their amount, how many are silent
    red_by_owner: dict[int, list[RedCustomer]]
    parts_by_owner: dict[int, list[OverduePart]]
    receivables_by_owner: dict[int, list[OverdueReceivable]]
    incomplete: dict[int, int]
    confirmed: dict[int, int]


@dataclass(frozen=True)
class Member:
    id: int
    wecom_userid: str
    name: str
    role: Role
    manager_id: int | None
    active: bool


@dataclass(frozen=True)
class Org:
    """Who reports to whom, read in one statement: each manager's team as Scope.team computes it."""

    users: dict[int, Member]
    children: dict[int, list[int]]

    @classmethod
    def load(cls, session: Session) -> Org:
        rows = session.execute(
            select(User.id, User.wecom_userid, User.name, User.role, User.manager_id, User.active, User.deleted_at)
        )
        users = {r[0]: Member(r[0], r[1], r[2], r[3], r[4], bool(r[5]) and r[6] is None) for r in rows}
        children: dict[int, list[int]] = defaultdict(list)
        for u in users.values():
            if u.manager_id is not None:
                children[u.manager_id].append(u.id)
        return cls(users, children)

    def is_active_rep(self, user_id: int) -> bool:
        u = self.users[user_id]
        return u.role is Role.REP and u.active

    def team_reps(self, manager_id: int) -> list[int]:
        """= Scope.team(manager).rep_ids: the active reps under the manager, directly or not."""
        seen, frontier = {manager_id}, [manager_id]
        while frontier:
            frontier = [c for m in frontier for c in self.children.get(m, []) if c not in seen]
            seen.update(frontier)
        return sorted(uid for uid in seen if self.is_active_rep(uid))

    def all_reps(self) -> list[int]:
        return sorted(uid for uid in self.users if self.is_active_rep(uid))

    def active(self, role: Role) -> list[Member]:
        return sorted((u for u in self.users.values() if u.role is role and u.active), key=lambda u: u.wecom_userid)


def load(
    session: Session, window: Window, now: datetime, scope: Scope, tz: ZoneInfo, *, every_deal: bool = False
) -> ScopeData:
    """Everything the reports of `scope` need, in a fixed number of statements. The deals' rows: every open deal
    with `every_deal` (a page or a workbook), else only the silent ones the cards name (the counts and amounts
    per rep come grouped, so a run for thousands of reps does not carry every deal into memory)."""
    without_jit(session)  # as the dashboards: JIT costs more than the aggregates it would speed up
    silent_before = follow_up_policy(session).silent_before(now)
    names = dict(session.execute(select(User.id, User.name)).all())
    counts = counts_by_rep(session, window, scope)

    pipeline = open_deals_by_owner(session, scope, now)

    red: dict[int, list[RedCustomer]] = defaultdict(list)
    for cid, name, owner_id in session.execute(
        select(Customer.id, Customer.name, Customer.owner_id)
        .where(Customer.health == Health.RED, Customer.deleted_at.is_(None), scope.covers(Customer.owner_id))
        .order_by(Customer.name)
    ):
        red[owner_id].append(RedCustomer(cid, name, owner_id, names.get(owner_id, "")))
    red_ids = {c.customer_id for rows in red.values() for c in rows}
    deals: dict[int, list[DealRow]] = defaultdict(list)
    for opp_id, owner_id, customer_id, customer, title, line, stage, amount, last, entered in session.execute(
        select(
            Opportunity.id,
            Opportunity.owner_id,
            Opportunity.customer_id,
            Customer.name,
            Opportunity.title,
            Opportunity.product_line,
            Stage.name,
            Opportunity.expected_amount_fen,
            Opportunity.last_follow_up_at,
            Opportunity.stage_entered_at,
        )
        .join(Customer, Customer.id == Opportunity.customer_id)
        .join(Stage, Stage.id == Opportunity.stage_id)
        .where(
            Opportunity.status == OpportunityStatus.OPEN,
            Opportunity.deleted_at.is_(None),
            scope.covers(Opportunity.owner_id),
            *(() if every_deal else (Opportunity.last_follow_up_at < silent_before,)),
        )
        .order_by(Opportunity.owner_id, Opportunity.last_follow_up_at)
    ):
        deals[owner_id].append(
            DealRow(
                opp_id,
                owner_id,
                names.get(owner_id, ""),
                customer,
                title,
                line,
                stage,
                amount,
                last,
                entered,
                last < silent_before,  # = policy.is_overdue(last, now), the bound computed once
                (now - last).total_seconds() / 86400,
                customer_id in red_ids,
            )
        )

    parts: dict[int, list[OverduePart]] = defaultdict(list)
    for part_id, ticket_id, department, customer, title, owner_id, due_at in session.execute(
        select(
            TicketPart.id,
            TicketPart.ticket_id,
            Department.name,
            Customer.name,
            Opportunity.title,
            Opportunity.owner_id,
            TicketPart.due_at,
        )
        .join(CollaborationTicket, CollaborationTicket.id == TicketPart.ticket_id)
        .join(Opportunity, Opportunity.id == CollaborationTicket.opportunity_id)
        .join(Customer, Customer.id == Opportunity.customer_id)
        .join(Department, Department.id == TicketPart.department_id)
        .where(TicketPart.status.in_(WAITING), TicketPart.due_at < now, scope.covers(Opportunity.owner_id))
        .order_by(TicketPart.due_at)
    ):
        parts[owner_id].append(OverduePart(part_id, ticket_id, department, customer, title, owner_id, due_at))

    today = now.astimezone(tz).date()
    paid = (
        select(Payment.receivable_id, func.sum(Payment.amount_fen).label("paid"))
        .group_by(Payment.receivable_id)
        .subquery("paid")
    )
    outstanding = Receivable.amount_fen - func.coalesce(paid.c.paid, 0)
    receivables: dict[int, list[OverdueReceivable]] = defaultdict(list)
    for rid, customer, owner_id, left, due, instalment in session.execute(
        select(
            Receivable.id, Customer.name, Customer.owner_id, outstanding, Receivable.due_date, Receivable.instalment_no
        )
        .join(Customer, Customer.id == Receivable.customer_id)
        .outerjoin(paid, paid.c.receivable_id == Receivable.id)
        .where(Receivable.due_date < today, outstanding > 0, scope.covers(Customer.owner_id))
        .order_by(Receivable.due_date)
    ):
        receivables[owner_id].append(
            OverdueReceivable(rid, customer, owner_id, int(left), due, (today - due).days, instalment)
        )

    confirmed: dict[int, int] = defaultdict(int)
    for rep_id, count in session.execute(
        select(DomainEvent.subject_id, func.count())
        .where(
            DomainEvent.kind == daily.CONFIRMED,
            DomainEvent.subject_type == "user",
            window.contains(DomainEvent.occurred_at),
            scope.covers(DomainEvent.subject_id),
        )
        .group_by(DomainEvent.subject_id)
    ):
        confirmed[rep_id] = count

    return ScopeData(
        window,
        now,
        names,
        counts,
        deals,
        pipeline,
        red,
        parts,
        receivables,
        incomplete_counts(session, now, scope),
        confirmed,
    )


def cut(data: ScopeData, kind: str, recipient: User | Member, rep_ids: list[int], *, company: bool) -> TeamReport:
    """One recipient's report from the scope's data: only the rows of `rep_ids`."""
    report = TeamReport(
        kind,
        recipient.id,
        recipient.name,
        recipient.wecom_userid,
        company,
        data.window,
        data.now,
        TeamFigures.of(data.window, rep_ids, data.counts),
    )
    for rep_id in rep_ids:
        report.deals.extend(data.deals_by_owner.get(rep_id, []))
        open_deals, pipeline_fen, silent = data.pipeline_by_owner.get(rep_id, (0, 0, 0))
        report.red_customers.extend(data.red_by_owner.get(rep_id, []))
        report.overdue_parts.extend(data.parts_by_owner.get(rep_id, []))
        report.overdue_receivables.extend(data.receivables_by_owner.get(rep_id, []))
        report.reps.append(
            RepRow(
                rep_id,
                data.names.get(rep_id, ""),
                data.counts.get(rep_id, RepCounts()),
                data.incomplete.get(rep_id, 0),
                data.confirmed.get(rep_id, 0),
                open_deals,
                pipeline_fen,
                silent,
            )
        )
    report.overdue_parts.sort(key=lambda p: p.due_at)
    report.overdue_receivables.sort(key=lambda r: r.due_date)
    return report


def reports_for_all(session: Session, kind: str, window: Window, now: datetime, tz: ZoneInfo) -> list[TeamReport]:
    """The scheduled run: every active manager's team report, and for a weekly one the director's too."""
    org = Org.load(session)
    data = load(session, window, now, Scope(ScopeKind.COMPANY), tz)
    reports = [cut(data, kind, m, org.team_reps(m.id), company=False) for m in org.active(Role.MANAGER)]
    if kind == "weekly":
        everyone = org.all_reps()
        reports += [cut(data, kind, d, everyone, company=True) for d in org.active(Role.DIRECTOR)]
    return reports


def report_for(session: Session, kind: str, viewer: User, window: Window, now: datetime, tz: ZoneInfo) -> TeamReport:
    """The report a viewer may see: a manager their team; a director or admin the whole sales force."""
    if viewer.role is Role.MANAGER:
        scope = Scope.team(session, viewer)
        data = load(session, window, now, scope, tz, every_deal=True)
        return cut(data, kind, viewer, sorted(scope.rep_ids), company=False)
    if viewer.role in (Role.DIRECTOR, Role.ADMIN):
        scope = Scope.company(session)
        data = load(session, window, now, scope, tz, every_deal=True)
        return cut(data, kind, viewer, sorted(scope.rep_ids), company=True)

    raise Forbidden("团队报告仅供销售主管、销售总监和管理员查看")


@dataclass(frozen=True)
class ArticleMetric:
    """One of the article's process metrics for the report's scope and window, beside its baseline and target."""

    label: str
    value: float | None
    baseline: float
    target: float
    unit: str  # seconds | ratio | per_week
    lower_is_better: bool = False

    @property
    def met(self) -> bool | None:
        if self.value is None:
            return None
        return self.value <= self.target if self.lower_is_better else self.value >= self.target


def article_metrics(session: Session, window: Window, scope: Scope) -> list[ArticleMetric]:
    """录入时长 (6 min 14 s → 48 s), 触点记录完整率 (31 % → 89 %), 主管干预率 (26 % → 67 %: "raised to 67 %, 41
    points up") and 客户健康度诊断使用 (0 → 17 a week), from salesnav.metrics over the report's window."""
    return [
        ArticleMetric(
            "录入时长（中位数）", metrics.entry_time_per_record(session, window, scope).value, 374, 48, "seconds", True
        ),
        ArticleMetric("触点记录完整率", metrics.record_completeness(session, window, scope).value, 0.31, 0.89, "ratio"),
        ArticleMetric(
            "主管干预率", metrics.manager_intervention_rate(session, window, scope).value, 0.26, 0.67, "ratio"
        ),
        ArticleMetric(
            "客户健康度诊断使用", metrics.health_diagnosis_use(session, window, scope).per_week, 0, 17, "per_week"
        ),
    ]
