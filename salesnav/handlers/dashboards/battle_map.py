"""Level 2 (销售主管): each rep's battle map (个人作战地图) for one business week, drawn as a Gantt chart.

One row per opportunity that was open at some time in the week; its bars are the stage periods (from the
stage history: a stage lasts from the transition that entered it to the next one, or to its close, or to
now). Red blocks (红色区块) mark the three risks of the article:

- 超时未动 (follow-up overdue): while the deal was open, more than `follow_up.overdue_hours` (72 h) passed
  without a follow-up (a touchpoint on the opportunity, or its recorded last follow-up); the block runs from
  the moment the threshold was crossed to the next follow-up (or to now / the week's end).
- 检查清单缺失 (checklist missing): the stage period was entered with the checklist incomplete (a stage
  change with checklist_complete false, i.e. a manager's override); the block covers that period in the week
  and names the required items that still have no evidence.
- 客户情绪连续走低 (customer emotion falling): the customer's last `EMOTION_READINGS` (3) touchpoints up to
  now never improve and the latest is worse than the first (积极 → 中性 → 中性, 中性 → 抵触 → 抵触,
  积极 → 中性 → 抵触 …); the block runs from the first of those readings (or the week's start) to the latest.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import BigInteger, func, literal, or_, select, true
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

from salesnav.handlers.checklists import provided_items
from salesnav.handlers.follow_up_policy import FollowUpPolicy, follow_up_policy
from salesnav.handlers.stages import required_items
from salesnav.metrics import Scope, Window
from salesnav.metrics.activity import EMOTION_VALUE
from salesnav.models import (
    Customer,
    Emotion,
    Opportunity,
    OpportunityStatus,
    Stage,
    StageTransition,
    Touchpoint,
    User,
)

EMOTION_READINGS = 3
OVERDUE, CHECKLIST, EMOTION = "overdue", "checklist", "emotion"
RED_LABELS = {OVERDUE: "超时未动", CHECKLIST: "检查清单缺失", EMOTION: "客户情绪连续走低"}


@dataclass(frozen=True)
class StagePeriod:
    stage_code: str
    stage_name: str
    start: datetime
    end: datetime


@dataclass(frozen=True)
class RedBlock:
    kind: str  # overdue, checklist, emotion
    label: str
    start: datetime
    end: datetime
    detail: str


@dataclass(frozen=True)
class OpportunityRow:
    id: int
    title: str
    customer_name: str
    amount_fen: int
    stage_name: str
    status: OpportunityStatus
    last_follow_up_at: datetime
    periods: list[StagePeriod]
    red_blocks: list[RedBlock]
    approval_frozen: bool = False  # 大单信用校验 froze it: the deal's page says why, and who may lift it


@dataclass(frozen=True)
class RepMap:
    rep_id: int
    rep_name: str
    rows: list[OpportunityRow]

    json_properties = ("red_count",)

    @property
    def red_count(self) -> int:
        return sum(len(row.red_blocks) for row in self.rows)


@dataclass(frozen=True)
class BattleMap:
    week_start: datetime
    week_end: datetime
    now: datetime
    manager_id: int | None
    manager_name: str | None
    reps: list[RepMap] = field(default_factory=list)

    json_properties = ("red_counts",)

    @property
    def red_counts(self) -> dict[str, int]:
        counts = dict.fromkeys(RED_LABELS, 0)
        for rep in self.reps:
            for row in rep.rows:
                for block in row.red_blocks:
                    counts[block.kind] += 1
        return counts


def team_battle_map(session: Session, manager: User, day: date, now: datetime, tz: ZoneInfo) -> BattleMap:
    """The battle maps of the manager's active reps for the business week containing `day`."""
    scope = Scope.team(session, manager)
    week = Window.week_of(day, tz)
    return BattleMap(week.start, week.end, now, manager.id, manager.name, rep_maps(session, scope.rep_ids, week, now))


def rep_battle_map(session: Session, rep: User, day: date, now: datetime, tz: ZoneInfo) -> BattleMap:
    """One rep's own battle map (the Level 3 page's 'my week')."""
    week = Window.week_of(day, tz)
    return BattleMap(week.start, week.end, now, None, None, rep_maps(session, {rep.id}, week, now))


def rep_maps(session: Session, rep_ids: set[int] | frozenset[int], week: Window, now: datetime) -> list[RepMap]:
    if not rep_ids:
        return []
    horizon = min(week.end, now)  # nothing after now is known yet
    names = dict(session.execute(select(User.id, User.name).where(User.id.in_(sorted(rep_ids)))).all())
    deals = session.execute(
        select(Opportunity, Customer.name)
        .join(Customer, Customer.id == Opportunity.customer_id)
        .where(
            Opportunity.owner_id.in_(sorted(rep_ids)),
            Opportunity.deleted_at.is_(None),
            or_(Opportunity.status == OpportunityStatus.OPEN, Opportunity.closed_at >= week.start),
        )
        .order_by(Opportunity.owner_id, Opportunity.id)
    ).all()
    if not deals:
        return [RepMap(rid, names.get(rid, ""), []) for rid in sorted(rep_ids, key=lambda r: names.get(r, ""))]
    ids = [opp.id for opp, _ in deals]
    stages = {s.id: s for s in session.scalars(select(Stage))}
    history = _history(session, ids, horizon)
    follow_ups = _follow_ups(session, ids, horizon)
    evidence = provided_items(session, ids)
    moods = _emotion_falls(session, {opp.customer_id for opp, _ in deals}, horizon)
    policy = follow_up_policy(session)

    rows: dict[int, list[OpportunityRow]] = defaultdict(list)
    for opp, customer_name in deals:
        stays = _stays(opp, history.get(opp.id, []), stages, horizon)
        if not stays:
            continue
        periods = [_clip_period(stay, week, horizon) for stay in stays]
        visible = [(stay, p) for stay, p in zip(stays, periods, strict=True) if p is not None]
        if not visible:
            continue
        blocks: list[RedBlock] = []
        blocks += _overdue_blocks(opp, stays, follow_ups.get(opp.id, []), policy, week, horizon)
        blocks += _checklist_blocks(visible, evidence.get(opp.id, set()))
        if opp.customer_id in moods and opp.status is OpportunityStatus.OPEN:
            blocks.append(_emotion_block(moods[opp.customer_id], week, horizon))
        rows[opp.owner_id].append(
            OpportunityRow(
                opp.id,
                opp.title,
                customer_name,
                opp.expected_amount_fen,
                stages[opp.stage_id].name,
                opp.status,
                opp.last_follow_up_at,
                [p for _, p in visible],
                sorted(blocks, key=lambda b: b.start),
                opp.approval_frozen,
            )
        )
    reps = [RepMap(rid, names.get(rid, ""), rows.get(rid, [])) for rid in rep_ids]
    # The reps with the most risks first: that is where a manager's attention goes.
    return sorted(reps, key=lambda r: (-r.red_count, r.rep_name))


@dataclass(frozen=True)
class _Stay:
    stage: Stage
    start: datetime
    end: datetime
    entered_complete: bool
    override_reason: str | None


def _history(session: Session, ids: list[int], horizon: datetime) -> dict[int, list[StageTransition]]:
    out: dict[int, list[StageTransition]] = defaultdict(list)
    for chunk in _chunks(ids):
        for t in session.scalars(
            select(StageTransition)
            .where(StageTransition.opportunity_id.in_(chunk), StageTransition.occurred_at < horizon)
            .order_by(StageTransition.opportunity_id, StageTransition.occurred_at, StageTransition.id)
        ):
            out[t.opportunity_id].append(t)
    return out


def _follow_ups(session: Session, ids: list[int], horizon: datetime) -> dict[int, list[datetime]]:
    out: dict[int, list[datetime]] = defaultdict(list)
    for chunk in _chunks(ids):
        rows = session.execute(
            select(Touchpoint.opportunity_id, Touchpoint.occurred_at).where(
                Touchpoint.opportunity_id.in_(chunk), Touchpoint.occurred_at < horizon, Touchpoint.deleted_at.is_(None)
            )
        )
        for opp_id, occurred in rows:
            if opp_id is not None:  # the IN above: never None
                out[opp_id].append(occurred)
    return out


def _emotion_falls(
    session: Session, customer_ids: set[int], horizon: datetime
) -> dict[int, list[tuple[datetime, Emotion]]]:
    """The customers whose last readings are falling, with those readings (oldest first)."""
    out: dict[int, list[tuple[datetime, Emotion]]] = {}
    for chunk in _chunks(sorted(customer_ids)):
        readings = (
            _latest_readings_postgresql(session, chunk, horizon)
            if session.get_bind().dialect.name == "postgresql"
            else _latest_readings(session, chunk, horizon)
        )
        for customer_id, seq in readings.items():
            if is_falling([e for _, e in seq]):
                out[customer_id] = seq
    return out


def _latest_readings_postgresql(
    session: Session, chunk: list[int], horizon: datetime
) -> dict[int, list[tuple[datetime, Emotion]]]:
    """Each customer's last `EMOTION_READINGS` live touchpoints before `horizon` (oldest first): a few index
    rows per customer ((customer_id, occurred_at) read backwards), however long its history."""
    ids = select(func.unnest(literal(chunk, ARRAY(BigInteger))).label("customer_id")).subquery("ids")
    latest = (
        select(Touchpoint.occurred_at, Touchpoint.emotion)
        .where(
            Touchpoint.customer_id == ids.c.customer_id,
            Touchpoint.occurred_at < horizon,
            Touchpoint.deleted_at.is_(None),
        )
        .order_by(Touchpoint.occurred_at.desc(), Touchpoint.id.desc())
        .limit(EMOTION_READINGS)
        .lateral("latest")
    )
    readings: dict[int, list[tuple[datetime, Emotion]]] = defaultdict(list)
    for customer_id, occurred, emotion in session.execute(
        select(ids.c.customer_id, latest.c.occurred_at, latest.c.emotion)
        .select_from(ids)
        .join(latest, true())
        .order_by(ids.c.customer_id, latest.c.occurred_at)
    ):
        readings[customer_id].append((occurred, Emotion(emotion)))
    return readings


def _latest_readings(
    session: Session, chunk: list[int], horizon: datetime
) -> dict[int, list[tuple[datetime, Emotion]]]:
    """`_latest_readings_postgresql` for SQLite (no LATERAL): the customers' touchpoints ranked newest first."""
    rank = (
        func.row_number()
        .over(partition_by=Touchpoint.customer_id, order_by=(Touchpoint.occurred_at.desc(), Touchpoint.id.desc()))
        .label("rank")
    )
    latest = (
        select(Touchpoint.customer_id, Touchpoint.occurred_at, Touchpoint.emotion, rank)
        .where(Touchpoint.customer_id.in_(chunk), Touchpoint.occurred_at < horizon, Touchpoint.deleted_at.is_(None))
        .subquery()
    )
    readings: dict[int, list[tuple[datetime, Emotion]]] = defaultdict(list)
    for customer_id, occurred, emotion, _ in session.execute(
        select(latest).where(latest.c.rank <= EMOTION_READINGS).order_by(latest.c.customer_id, latest.c.occurred_at)
    ):
        readings[customer_id].append((occurred, Emotion(emotion)))
    return readings


def is_falling(emotions: list[Emotion]) -> bool:
    """`EMOTION_READINGS` readings, oldest first, that never improve and end worse than they began."""
    if len(emotions) < EMOTION_READINGS:
        return False
    values = [EMOTION_VALUE[e] for e in emotions[-EMOTION_READINGS:]]
    return all(b <= a for a, b in itertools.pairwise(values)) and values[-1] < values[0]


def _stays(
    opp: Opportunity, history: list[StageTransition], stages: dict[int, Stage], horizon: datetime
) -> list[_Stay]:
    stays = []
    for i, t in enumerate(history):
        stage = stages[t.to_stage_id]
        if stage.is_closed:
            break  # a closed deal's bars end at its close
        end = history[i + 1].occurred_at if i + 1 < len(history) else (opp.closed_at or horizon)
        stays.append(_Stay(stage, t.occurred_at, min(end, horizon), t.checklist_complete, t.override_reason))
    return stays


def _clip_period(stay: _Stay, week: Window, horizon: datetime) -> StagePeriod | None:
    start, end = max(stay.start, week.start), min(stay.end, horizon)
    if end <= start:
        return None
    return StagePeriod(stay.stage.code, stay.stage.name, start, end)


def _overdue_blocks(
    opp: Opportunity,
    stays: list[_Stay],
    follow_ups: list[datetime],
    policy: FollowUpPolicy,
    week: Window,
    horizon: datetime,
) -> list[RedBlock]:
    opened, open_until = stays[0].start, min(opp.closed_at or horizon, horizon)
    times = sorted({opened, *(t for t in follow_ups if opened <= t < open_until)})
    if opp.last_follow_up_at < open_until:
        times = sorted({*times, max(opp.last_follow_up_at, opened)})
    blocks = []
    for i, last in enumerate(times):
        nxt = times[i + 1] if i + 1 < len(times) else open_until
        start, end = max(policy.overdue_at(last), week.start), min(nxt, horizon)
        if end > start:
            hours = (end - last).total_seconds() / 3600
            counted = "，只计工作日" if policy.time.working_days_only else ""
            detail = f"上次跟进后 {hours:.0f} 小时未再跟进（阈值 {policy.overdue_hours} 小时{counted}）"
            blocks.append(RedBlock(OVERDUE, RED_LABELS[OVERDUE], start, end, detail))
    return blocks


def _checklist_blocks(visible: list[tuple[_Stay, StagePeriod]], provided: set[int]) -> list[RedBlock]:
    blocks = []
    for stay, period in visible:
        if stay.entered_complete:
            continue
        missing = [item.name for item in required_items(stay.stage) if item.id not in provided]
        detail = f"进入「{stay.stage.name}」时检查清单未完成"
        if missing:
            detail += "，仍缺：" + "、".join(missing)
        if stay.override_reason:
            detail += f"（跳过原因：{stay.override_reason}）"
        blocks.append(RedBlock(CHECKLIST, RED_LABELS[CHECKLIST], period.start, period.end, detail))
    return blocks


def _emotion_block(readings: list[tuple[datetime, Emotion]], week: Window, horizon: datetime) -> RedBlock:
    first, last = readings[0][0], readings[-1][0]
    start = min(max(first, week.start), horizon)
    end = min(max(last, start), horizon)
    detail = "最近 {} 次触点情绪：{}".format(len(readings), " → ".join(e.label for _, e in readings))
    return RedBlock(EMOTION, RED_LABELS[EMOTION], start, end, detail)


def _chunks(ids: list[int], size: int = 900) -> list[list[int]]:
    """SQLite allows at most 999 bound parameters in a statement."""
    return [ids[i : i + size] for i in range(0, len(ids), size)]
