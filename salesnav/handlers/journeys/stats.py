"""How a journey works (issue 20, 看效果): its funnel step by step, the deals of the customers who went through it
against similar customers who did not, and the journeys one customer is in.

Every figure is defined once here and computed in SQL over the journeys' indexes (a handful of queries per page,
whatever the number of customers enrolled). Over a window [start, end) (default the last 90 days):

- 进入 entered: enrollments of the journey whose `entered_at` is in the window; of those, 进行中 (active),
  已完成 completed, 已退出 exited (an exit event, or the journey was stopped for them), and 超时未完成 stuck: those
  with a step past its deadline (`sla_due_at` before now) that is not done, cancelled or failed.
- each step, over the same enrollments: 到达 reached (a run of the step exists), 停留 at the step now (its run is
  pending, held, waiting or open), 完成 done, 超时 stuck past its deadline; a condition also its branches taken
  (则 / 否则).
- 成交对比 the comparison: the journey's customers (entered in the window) against similar customers who did
  not enter it — the same customer kind, region and rep team (the owner's manager), never enrolled in this
  journey before the window's end. For both groups alike: deals closed won in the window (`closed_at`), their
  amount (the won amount, `expected_amount_fen`, as the leaderboard counts it) and the share of customers with a
  won deal. One query for both groups, so the two sides can never be counted differently.

Who sees which customers: every figure counts only the customers the viewer may see (salesnav/handlers/scope.py
`visible_owner_ids`, by the customer's owner now) — a sales manager their team's, a director and an admin all.
`owners` None is everyone; the comparison's peers are drawn from the same customers.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, case, distinct, exists, func, literal, or_, select, true, union_all
from sqlalchemy.orm import Session, aliased

from salesnav import clock
from salesnav.handlers.rules.texts import local_time
from salesnav.metrics import Window
from salesnav.models import (
    Customer,
    EnrollmentState,
    Journey,
    JourneyEnrollment,
    JourneyStepRun,
    Opportunity,
    OpportunityStatus,
    StepRunState,
    User,
)

DEFAULT_WINDOW_DAYS = 90
WINDOW_CHOICES = (30, 90, 180, 365)
UNFINISHED = (StepRunState.PENDING, StepRunState.HELD, StepRunState.WAITING, StepRunState.OPEN)
FINISHED = (StepRunState.DONE, StepRunState.CANCELLED, StepRunState.FAILED)
JOURNEY, PEERS = "journey", "peers"
CUSTOMER_JOURNEYS_SHOWN = 10


@dataclass(frozen=True)
class StepFigures:
    key: str
    title: str
    kind: str  # message, card, task, ticket_part, email, wait, condition
    reached: int
    now: int  # at the step now (pending, held, waiting or open)
    done: int
    stuck: int  # past its deadline, not finished
    then: int = 0  # a condition: the event came in time
    otherwise: int = 0  # a condition: it did not


@dataclass(frozen=True)
class Group:
    customers: int
    won_deals: int
    revenue_fen: int
    customers_won: int  # customers with at least one won deal

    @property
    def deals_per_customer(self) -> float | None:
        return self.won_deals / self.customers if self.customers else None

    @property
    def revenue_per_customer_fen(self) -> int | None:
        return round(self.revenue_fen / self.customers) if self.customers else None

    @property
    def won_share(self) -> float | None:
        return self.customers_won / self.customers if self.customers else None


@dataclass(frozen=True)
class JourneyStats:
    journey_id: int
    window: Window
    entered: int
    active: int
    completed: int
    exited: int
    stuck: int  # enrollments with a step past its deadline
    steps: list[StepFigures]
    journey: Group  # the customers who went through it
    peers: Group  # similar customers who did not


def window_of(days: int | None, now: datetime | None = None) -> Window:
    """The last `days` days up to now, now included (one of WINDOW_CHOICES, else the default 90): a customer who
    entered this very moment counts (a Window is half-open, so it ends just after now)."""
    now = now or clock.now()
    days = days if days in WINDOW_CHOICES else DEFAULT_WINDOW_DAYS
    return Window(now - timedelta(days=days), now + timedelta(microseconds=1))


def owned_by(owners: set[int] | None, customer_id: Any) -> ColumnElement[bool]:
    """The customer (by its id column) is one of `owners`' (None: anyone's)."""
    if owners is None:
        return true()
    return customer_id.in_(select(Customer.id).where(Customer.owner_id.in_(sorted(owners))))


def journey_stats(
    session: Session,
    journey: Journey,
    window: Window,
    now: datetime | None = None,
    *,
    owners: set[int] | None = None,
) -> JourneyStats:
    """The journey's figures over the customers of `owners` (None: all customers)."""
    now = now or clock.now()
    entered = and_(
        JourneyEnrollment.journey_id == journey.id,
        window.contains(JourneyEnrollment.entered_at),
        owned_by(owners, JourneyEnrollment.customer_id),
    )
    stuck_run = and_(
        JourneyStepRun.sla_due_at.is_not(None),
        JourneyStepRun.sla_due_at < now,
        JourneyStepRun.state.in_(UNFINISHED),
    )

    by_state = dict(
        session.execute(
            select(JourneyEnrollment.state, func.count()).where(entered).group_by(JourneyEnrollment.state)
        ).all()
    )
    stuck = session.scalar(
        select(func.count(distinct(JourneyStepRun.enrollment_id)))
        .join(JourneyEnrollment, JourneyEnrollment.id == JourneyStepRun.enrollment_id)
        .where(entered, JourneyStepRun.journey_id == journey.id, stuck_run)
    )

    rows = session.execute(
        select(
            JourneyStepRun.step_key,
            func.count(),
            func.count(case((JourneyStepRun.state.in_(UNFINISHED), 1))),
            func.count(case((JourneyStepRun.state == StepRunState.DONE, 1))),
            func.count(case((stuck_run, 1))),
            func.count(case((JourneyStepRun.outcome == "then", 1))),
            func.count(case((JourneyStepRun.outcome == "else", 1))),
        )
        .join(JourneyEnrollment, JourneyEnrollment.id == JourneyStepRun.enrollment_id)
        .where(entered, JourneyStepRun.journey_id == journey.id)
        .group_by(JourneyStepRun.step_key)
    ).all()
    counted = {row[0]: tuple(int(n) for n in row[1:]) for row in rows}
    steps = []
    for key, title, kind in _steps_of(journey.definition):
        reached, at, done, late, then, otherwise = counted.pop(key, (0, 0, 0, 0, 0, 0))
        steps.append(StepFigures(key, title, kind, reached, at, done, late, then, otherwise))
    for key, (reached, at, done, late, then, otherwise) in sorted(counted.items()):  # a step since removed
        steps.append(StepFigures(key, f"{key}（已从旅程中删除）", "", reached, at, done, late, then, otherwise))

    journey_group, peers = compare(session, journey.id, window, owners=owners)
    return JourneyStats(
        journey.id,
        window,
        entered=sum(by_state.values()),
        active=by_state.get(EnrollmentState.ACTIVE, 0),
        completed=by_state.get(EnrollmentState.COMPLETED, 0),
        exited=by_state.get(EnrollmentState.EXITED, 0),
        stuck=int(stuck or 0),
        steps=steps,
        journey=journey_group,
        peers=peers,
    )


def compare(
    session: Session, journey_id: int, window: Window, *, owners: set[int] | None = None
) -> tuple[Group, Group]:
    """Won deals and their amount in the window: the journey's customers vs. similar customers never in it (both
    among the customers of `owners`, None: all)."""
    owner = aliased(User)
    enrolled = (
        select(JourneyEnrollment.customer_id.label("customer_id"))
        .where(
            JourneyEnrollment.journey_id == journey_id,
            window.contains(JourneyEnrollment.entered_at),
            owned_by(owners, JourneyEnrollment.customer_id),
        )
        .distinct()
        .cte("enrolled")
    )
    keys = (
        select(Customer.kind.label("kind"), Customer.region.label("region"), owner.manager_id.label("team"))
        .join(owner, owner.id == Customer.owner_id)
        .where(Customer.id.in_(select(enrolled.c.customer_id)))
        .distinct()
        .cte("similar_keys")
    )
    ever_in = select(JourneyEnrollment.customer_id).where(
        JourneyEnrollment.journey_id == journey_id, JourneyEnrollment.entered_at < window.end
    )
    peer_owner = aliased(User)
    peers = (
        select(Customer.id.label("customer_id"), literal(PEERS).label("grp"))
        .join(peer_owner, peer_owner.id == Customer.owner_id)
        .where(
            Customer.deleted_at.is_(None),
            true() if owners is None else Customer.owner_id.in_(sorted(owners)),
            Customer.id.not_in(ever_in),
            exists(
                select(literal(1))
                .select_from(keys)
                .where(
                    keys.c.kind == Customer.kind,
                    or_(keys.c.region == Customer.region, and_(keys.c.region.is_(None), Customer.region.is_(None))),
                    or_(
                        keys.c.team == peer_owner.manager_id,
                        and_(keys.c.team.is_(None), peer_owner.manager_id.is_(None)),
                    ),
                )
            ),
        )
    )
    groups = union_all(select(enrolled.c.customer_id, literal(JOURNEY).label("grp")), peers).subquery("groups")
    won = (
        select(Opportunity.id, Opportunity.customer_id, Opportunity.expected_amount_fen)
        .where(
            Opportunity.status == OpportunityStatus.WON,
            Opportunity.deleted_at.is_(None),
            Opportunity.closed_at.is_not(None),
            window.contains(Opportunity.closed_at),
        )
        .subquery("won")
    )
    rows = session.execute(
        select(
            groups.c.grp,
            func.count(distinct(groups.c.customer_id)),
            func.count(won.c.id),
            func.coalesce(func.sum(won.c.expected_amount_fen), 0),
            func.count(distinct(case((won.c.id.is_not(None), groups.c.customer_id)))),
        )
        .select_from(groups)
        .outerjoin(won, won.c.customer_id == groups.c.customer_id)
        .group_by(groups.c.grp)
    ).all()
    found = {grp: Group(int(n), int(deals), int(revenue), int(with_deal)) for grp, n, deals, revenue, with_deal in rows}
    empty = Group(0, 0, 0, 0)
    return found.get(JOURNEY, empty), found.get(PEERS, empty)


def _steps_of(definition: dict[str, Any] | None) -> list[tuple[str, str, str]]:
    """(key, title, kind) of a stored definition's steps, read without validating (a page never fails on it)."""
    out = []
    for step in (definition or {}).get("steps") or []:
        if not isinstance(step, dict) or not step.get("key"):
            continue
        action = step.get("action")
        kind = str(action.get("type", "")) if isinstance(action, dict) else "wait" if step.get("wait") else "condition"
        out.append((str(step["key"]), str(step.get("title") or step["key"]), kind))
    return out


def step_title(definition: dict[str, Any] | None, key: str | None) -> str | None:
    if key is None:
        return None
    return next((title for k, title, _kind in _steps_of(definition) if k == key), key)


# --- one customer's journeys (the customer's page, 诊断, the mini-program) ------------------------------------


@dataclass(frozen=True)
class CustomerJourney:
    journey_id: int
    journey_name: str
    state: EnrollmentState
    entered_at: datetime
    step_key: str | None  # where the flow is: its current step, else the latest unfinished one
    step_title: str | None
    step_state: StepRunState | None  # that step's progress while unfinished
    due_at: datetime | None  # the nearest deadline among the unfinished steps (a task may run beside the flow)
    due_step_title: str | None  # the step whose deadline that is
    overdue: bool  # some unfinished step is past its deadline
    ended_at: datetime | None  # completed or exited
    exit_reason: str | None


def customer_journeys(session: Session, customer_id: int, now: datetime | None = None) -> list[CustomerJourney]:
    """The journeys a customer is in (active first), then those they finished lately; two queries."""
    now = now or clock.now()
    rows = session.execute(
        select(JourneyEnrollment, Journey.name, Journey.definition)
        .join(Journey, Journey.id == JourneyEnrollment.journey_id)
        # an archived journey (soft-deleted after it ran) stays in the history of the customers who went through it
        .where(JourneyEnrollment.customer_id == customer_id)
        .order_by(
            case((JourneyEnrollment.state == EnrollmentState.ACTIVE, 0), else_=1),
            JourneyEnrollment.entered_at.desc(),
            JourneyEnrollment.id.desc(),
        )
        .limit(CUSTOMER_JOURNEYS_SHOWN)
    ).all()
    if not rows:
        return []
    unfinished: dict[int, list[JourneyStepRun]] = {}
    for run in session.scalars(
        select(JourneyStepRun)
        .where(
            JourneyStepRun.enrollment_id.in_([enrollment.id for enrollment, *_ in rows]),
            JourneyStepRun.state.in_(UNFINISHED),
        )
        .order_by(JourneyStepRun.due_at, JourneyStepRun.id)
    ):
        unfinished.setdefault(run.enrollment_id, []).append(run)
    out = []
    for enrollment, name, definition in rows:
        runs = unfinished.get(enrollment.id, []) if enrollment.state is EnrollmentState.ACTIVE else []
        key = enrollment.current_step or (runs[-1].step_key if runs else None)
        at = next((run for run in runs if run.step_key == key), None)
        deadlines = [(run.sla_due_at, run) for run in runs if run.sla_due_at is not None]
        nearest = min(deadlines, key=lambda pair: pair[0])[1] if deadlines else None
        out.append(
            CustomerJourney(
                journey_id=enrollment.journey_id,
                journey_name=name,
                state=enrollment.state,
                entered_at=enrollment.entered_at,
                step_key=key if enrollment.state is EnrollmentState.ACTIVE else None,
                step_title=step_title(definition, key) if enrollment.state is EnrollmentState.ACTIVE else None,
                step_state=at.state if at is not None else None,
                due_at=nearest.sla_due_at if nearest is not None else None,
                due_step_title=step_title(definition, nearest.step_key) if nearest is not None else None,
                overdue=nearest is not None and nearest.sla_due_at is not None and nearest.sla_due_at < now,
                ended_at=enrollment.completed_at or enrollment.exited_at,
                exit_reason=enrollment.exit_reason,
            )
        )
    return out


def describe_customer_journey(item: CustomerJourney) -> str:
    """One Chinese line: 「白皮书跟进」当前步骤「预约线上演示」 · 进行中，截止 2026-12-08 10:00（已超时）, or, when the
    deadline is another step's (a task running beside the flow): …；「发案例」截止 ….）"""
    head = f"「{item.journey_name}」"
    if item.state is not EnrollmentState.ACTIVE:
        return f"{head}{item.state.label}" + (f"（{item.exit_reason}）" if item.exit_reason else "")
    where = f"当前步骤「{item.step_title}」" if item.step_title else "进行中"
    state = f" · {item.step_state.label}" if item.step_state is not None else ""
    due = ""
    if item.due_at is not None:
        whose = "，" if item.due_step_title in (None, item.step_title) else f"；「{item.due_step_title}」"
        due = f"{whose}截止 {local_time(item.due_at)}" + ("（已超时）" if item.overdue else "")
    return f"{head}{where}{state}{due}"
