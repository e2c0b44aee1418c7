"""Process metrics over opportunities (商机推进卡): compliance, stage timing, conversion and win rate."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Float,
    Integer,
    Select,
    String,
    Subquery,
    and_,
    case,
    exists,
    func,
    literal,
    select,
    union_all,
)
from sqlalchemy.orm import Session, aliased

from salesnav.metrics.days import Piece, business_tz, pieces_table
from salesnav.metrics.results import Ratio
from salesnav.metrics.scope import Scope, Window
from salesnav.metrics.sql import seconds_between
from salesnav.models import (
    Customer,
    Opportunity,
    OpportunityStatus,
    Stage,
    StageOutcome,
    StageTransition,
    Touchpoint,
    setting_areas,
)

CLOSED = (OpportunityStatus.WON, OpportunityStatus.LOST)
DAY = 86400.0


def process_compliance(session: Session, window: Window, scope: Scope) -> Ratio:
    """过程合规率: stage transitions in the window made with the checklist complete and no override ÷ all stage
    transitions in the window. The creation row (from_stage_id NULL) is not a transition; transitions count
    for the opportunity's owner."""
    return process_compliance_by_window(session, [window], scope)[0]


def process_compliance_by_window(session: Session, windows: Sequence[Window], scope: Scope) -> list[Ratio]:
    """`process_compliance` of each of `windows` in one query (a dashboard's weekly trend)."""
    if not windows:
        return []
    compliant = compliant_transition()
    span = Window(min(w.start for w in windows), max(w.end for w in windows))
    row = session.execute(
        select(
            *(func.count(case((w.contains(StageTransition.occurred_at), 1))) for w in windows),
            *(func.count(case((and_(w.contains(StageTransition.occurred_at), compliant), 1))) for w in windows),
        )
        .join(Opportunity, Opportunity.id == StageTransition.opportunity_id)
        .where(*_transitions_left_in(span, scope))
    ).one()
    n = len(windows)
    return [Ratio.of(row[n + k], row[k]) for k in range(n)]


def compliant_transition() -> ColumnElement[bool]:
    """A stage change made with the checklist complete and no override."""
    return and_(StageTransition.checklist_complete.is_(True), StageTransition.override_reason.is_(None))


@dataclass(frozen=True)
class TransitionSums:
    """A rep's stage changes in a piece of a day, and the compliant ones (`process_compliance`'s two counts)."""

    changes: int
    compliant: int


def transition_cells(session: Session, rows: Sequence[Piece], scope: Scope) -> dict[tuple[int, int], TransitionSums]:
    """The stage changes per (index of the piece in `rows`, owner in scope), as `process_compliance` counts
    them; the aggregates keep them per day (salesnav/metrics/aggregates.py)."""
    if not rows:
        return {}
    table = pieces_table(rows, business_tz())
    span = Window(min(p.start for p in rows), max(p.end for p in rows))
    result = session.execute(
        select(
            table.c.idx,
            Opportunity.owner_id,
            func.count(),
            func.count(case((compliant_transition(), 1))),
        )
        .select_from(StageTransition)
        .join(Opportunity, Opportunity.id == StageTransition.opportunity_id)
        .join(table, (StageTransition.occurred_at >= table.c.start) & (StageTransition.occurred_at < table.c.end))
        .where(*_transitions_left_in(span, scope))
        .group_by(table.c.idx, Opportunity.owner_id)
    )
    return {(int(k), int(rep)): TransitionSums(int(n), int(ok)) for k, rep, n, ok in result}


@dataclass(frozen=True)
class BaselineGroup:
    """The stays of closed deals in one (stage, product line, grade): their total seconds and how many — what
    the stage deviation's baseline divides. The aggregates keep them per local day of the deals' closing."""

    stage_id: int
    product_line: str
    grade: str | None
    seconds: float
    stays: int


def _closed_deal_stays(*conditions: ColumnElement[bool]) -> Select[*tuple[Any, ...]]:
    """The stays of the live deals closed (won or lost) meeting `conditions`: the baseline's history."""
    return _stays(Opportunity.status.in_(CLOSED), Opportunity.deleted_at.is_(None), *conditions)


def baseline_cells(session: Session, rows: Sequence[Piece]) -> dict[tuple[int, int, str, str | None], BaselineGroup]:
    """The baseline groups of the deals closed in each piece of `rows`, per (index of the piece, stage, product
    line, grade): the one definition the deviation's history and the aggregates share."""
    if not rows:
        return {}
    table = pieces_table(rows, business_tz())
    history = _closed_deal_stays(
        Opportunity.closed_at >= min(p.start for p in rows), Opportunity.closed_at < max(p.end for p in rows)
    ).subquery("history")
    closed = select(Opportunity.id, Opportunity.closed_at).subquery("closed")
    result = session.execute(
        select(
            table.c.idx,
            history.c.stage_id,
            history.c.product_line,
            history.c.grade,
            func.sum(history.c.seconds),
            func.count(),
        )
        .select_from(history)
        .join(closed, closed.c.id == history.c.opportunity_id)
        .join(table, (closed.c.closed_at >= table.c.start) & (closed.c.closed_at < table.c.end))
        .group_by(table.c.idx, history.c.stage_id, history.c.product_line, history.c.grade)
    )
    return {
        (int(k), int(stage), product, grade): BaselineGroup(int(stage), product, grade, float(total or 0), int(n))
        for k, stage, product, grade, total, n in result
    }


def stage_advancement_deviation(
    session: Session,
    window: Window,
    scope: Scope,
    *,
    history_days: int | None = None,
    baseline: Sequence[BaselineGroup] | None = None,
) -> Ratio:
    """商机阶段推进偏差率: for each stage left in the window, (days spent − mean days in that stage of similar
    opportunities) ÷ that mean; the value is the mean of the absolute deviations (0.38 reads ±38 %).

    Similar opportunities are those closed (won or lost) in the `history_days` (setting
    dashboard.deviation_history_days, 365) before the window start, with the same product line and customer
    grade; a stage with no such history falls back to all opportunities closed then. Taking the history before
    the window keeps a deal from being its own baseline. A stay without a baseline (or a zero mean) is not
    compared. Numerator: the sum of absolute deviations; denominator: the stays compared. Article baseline ±38 %,
    target ±12 %.

    `baseline`: that history's groups already summed (the maintained aggregates pass them, read per day of
    closing instead of from a year of deals' stays); by default they are summed from the records here.
    """
    if baseline is None:
        if history_days is None:
            history_days = setting_areas.dashboard(session).deviation_history_days
        history = _closed_deal_stays(
            Opportunity.closed_at >= window.start - timedelta(days=history_days),
            Opportunity.closed_at < window.start,
        ).subquery("history")
        # Sums and counts per (stage, product line, grade); the fallback per stage adds those groups up, so the
        # history is read once.
        similar = (
            select(
                history.c.stage_id,
                history.c.product_line,
                history.c.grade,
                func.sum(history.c.seconds).label("total"),
                func.count().label("n"),
            )
            .group_by(history.c.stage_id, history.c.product_line, history.c.grade)
            .cte("similar")
        )
    else:
        similar = _groups_table(baseline).cte("similar")
    overall = (
        select(similar.c.stage_id, (func.sum(similar.c.total) / func.sum(similar.c.n)).label("mean"))
        .group_by(similar.c.stage_id)
        .subquery("overall")
    )
    now = _window_stays(window, scope)
    baseline_mean = func.coalesce(similar.c.total / similar.c.n, overall.c.mean)
    total, count = session.execute(
        select(func.sum(func.abs((now.c.seconds - baseline_mean) / baseline_mean)), func.count())
        .select_from(now)
        .outerjoin(
            similar,
            and_(
                similar.c.stage_id == now.c.stage_id,
                similar.c.product_line == now.c.product_line,
                similar.c.grade.is_not_distinct_from(now.c.grade),
            ),
        )
        .outerjoin(overall, overall.c.stage_id == now.c.stage_id)
        .where(baseline_mean > 0)
    ).one()
    return Ratio.of(total, count)


def _groups_table(groups: Sequence[BaselineGroup]) -> Any:
    """The baseline groups as a small table (stage_id, product_line, grade, total, n) of literal selects (the
    same on PostgreSQL and SQLite); no group: one row that matches no stage."""
    rows = [g for g in groups if g.stays] or [BaselineGroup(-1, "", None, 0.0, 1)]
    return union_all(
        *(
            select(
                literal(g.stage_id, BigInteger()).label("stage_id"),
                literal(g.product_line, String()).label("product_line"),
                literal(g.grade, String()).label("grade"),
                literal(g.seconds, Float()).label("total"),
                literal(g.stays, Integer()).label("n"),
            )
            for g in rows
        )
    )


@dataclass(frozen=True)
class StageDwell:
    """漏斗停留时长 of one stage: mean days spent in it by the stays that ended in the window."""

    stage_code: str
    stage_name: str
    mean_days: float | None
    count: int


def funnel_dwell_times(session: Session, window: Window, scope: Scope) -> list[StageDwell]:
    """Funnel dwell time per stage: for each open stage, in funnel order, the mean days spent in it by the
    opportunities in scope that left it in the window (None when none left it). Days spent = the time between
    entering the stage (the previous history row) and leaving it."""
    now = _window_stays(window, scope)
    rows = session.execute(
        select(now.c.stage_id, func.avg(now.c.seconds), func.count())
        .where(now.c.seconds.is_not(None))
        .group_by(now.c.stage_id)
    ).all()
    by_stage = {stage_id: (float(mean) / DAY, int(n)) for stage_id, mean, n in rows}
    stages = session.scalars(
        select(Stage).where(Stage.outcome == StageOutcome.OPEN, Stage.deleted_at.is_(None)).order_by(Stage.position)
    )
    return [StageDwell(stage.code, stage.name, *by_stage.get(stage.id, (None, 0))) for stage in stages]


@dataclass(frozen=True)
class Funnel:
    """线索 → 商机 → 赢单 for the customers first touched in the window."""

    leads: int
    with_opportunity: int
    won: int

    @property
    def lead_to_opportunity(self) -> Ratio:
        return Ratio.of(self.with_opportunity, self.leads)

    @property
    def opportunity_to_won(self) -> Ratio:
        return Ratio.of(self.won, self.with_opportunity)


def conversion_funnel(session: Session, window: Window, scope: Scope, *, candidates: Any = None) -> Funnel:
    """The lead funnel: customers first touched in the window (touched in it by a rep in scope and never
    touched before it), those of them that have an opportunity (created at any time since), and those with a
    won opportunity.

    `candidates`: customer ids that include every lead of the window (the maintained aggregates pass the
    customers whose first touch falls in it, salesnav/metrics/aggregates.py); the definition is applied to them
    only, so the cost follows the window's new customers rather than every customer touched in it."""
    # The window's customers first (one row each), then one index probe each for an earlier live touchpoint.
    conditions = [
        window.contains(Touchpoint.occurred_at),
        scope.covers(Touchpoint.rep_id),
        Touchpoint.deleted_at.is_(None),
    ]
    if candidates is not None:
        conditions.append(Touchpoint.customer_id.in_(candidates))
    touched = select(Touchpoint.customer_id.label("customer_id")).where(*conditions).distinct().subquery("touched")
    earlier = aliased(Touchpoint)
    leads = (
        select(touched.c.customer_id)
        .join(Customer, Customer.id == touched.c.customer_id)
        .where(
            Customer.deleted_at.is_(None),
            ~exists().where(
                earlier.customer_id == touched.c.customer_id,
                earlier.occurred_at < window.start,
                earlier.deleted_at.is_(None),
            ),
        )
        .subquery("leads")
    )

    def has_opportunity(*conditions: ColumnElement[bool]) -> ColumnElement[bool]:
        return exists().where(
            Opportunity.customer_id == leads.c.customer_id, Opportunity.deleted_at.is_(None), *conditions
        )

    total, converted, won = session.execute(
        select(
            func.count(),
            func.count(case((has_opportunity(), 1))),
            func.count(case((has_opportunity(Opportunity.status == OpportunityStatus.WON), 1))),
        ).select_from(leads)
    ).one()
    return Funnel(int(total), int(converted), int(won))


def lead_conversion(session: Session, window: Window, scope: Scope) -> Ratio:
    """线索转化率: customers first touched in the window that have an opportunity ÷ customers first touched in
    the window (see `conversion_funnel`). Article: 11.3 % (industry 19.7 %)."""
    return conversion_funnel(session, window, scope).lead_to_opportunity


def win_rate(session: Session, window: Window, scope: Scope) -> Ratio:
    """赢单率: opportunities in scope closed won in the window ÷ opportunities closed (won or lost) in it."""
    total, won = session.execute(
        select(func.count(), func.count(case((Opportunity.status == OpportunityStatus.WON, 1))))
        .select_from(Opportunity)
        .where(
            Opportunity.status.in_(CLOSED),
            window.contains(Opportunity.closed_at),
            scope.covers(Opportunity.owner_id),
            Opportunity.deleted_at.is_(None),
        )
    ).one()
    return Ratio.of(won, total)


def _transitions_left_in(window: Window, scope: Scope) -> list[ColumnElement[bool]]:
    """Stage changes in the window (not creation rows) of non-retired opportunities owned in scope."""
    return [
        window.contains(StageTransition.occurred_at),
        StageTransition.from_stage_id.is_not(None),
        scope.covers(Opportunity.owner_id),
        Opportunity.deleted_at.is_(None),
    ]


def _stays(*conditions: ColumnElement[bool]) -> Select[*tuple[Any, ...]]:
    """Every stay in a stage that was left, of the opportunities meeting `conditions` (on Opportunity and
    Customer): the stage, when it was left, the seconds spent in it (since the opportunity's previous history
    row, which entered it: `StageTransition.from_stage_entered_at`, kept by triggers) and the deal's product line
    and grade. The creation row (no stage left) and a first row without an earlier one are not stays."""
    return (
        select(
            StageTransition.opportunity_id,
            StageTransition.from_stage_id.label("stage_id"),
            StageTransition.occurred_at.label("left_at"),
            seconds_between(StageTransition.occurred_at, StageTransition.from_stage_entered_at).label("seconds"),
            Opportunity.product_line,
            Customer.grade,
        )
        .join(Opportunity, Opportunity.id == StageTransition.opportunity_id)
        .join(Customer, Customer.id == Opportunity.customer_id)
        .where(
            StageTransition.from_stage_id.is_not(None),
            StageTransition.from_stage_entered_at.is_not(None),
            *conditions,
        )
    )


def _window_stays(window: Window, scope: Scope) -> Subquery:
    """The stays that ended in the window, for opportunities owned in scope."""
    return _stays(*_transitions_left_in(window, scope)).subquery()
