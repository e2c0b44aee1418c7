"""Behaviour metrics over touchpoints (客户触点日志): how often, how well, and how fast reps record them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, String, case, cast, exists, func, literal, literal_column, select
from sqlalchemy.orm import Session, aliased

from salesnav.metrics.days import Piece, business_tz, pieces, pieces_table
from salesnav.metrics.results import Duration, Ratio, as_float
from salesnav.metrics.scope import Scope, Window
from salesnav.metrics.sql import bit_or, seconds_between
from salesnav.models import (
    Contact,
    DecisionRole,
    Emotion,
    Touchpoint,
    TouchpointType,
    setting_areas,
    touchpoint_contacts,
)
from salesnav.models.touchpoints import CONTACT_ROLE_BITS

EMOTION_VALUE = {Emotion.POSITIVE: 1.0, Emotion.NEUTRAL: 0.6, Emotion.RESISTANT: 0.2}
DECISION_ROLE_COUNT = len(DecisionRole)  # 影响者, 采购者, 使用者, 否决者


def _touchpoints_in(window: Window, scope: Scope) -> list[ColumnElement[bool]]:
    return [window.contains(Touchpoint.occurred_at), scope.covers(Touchpoint.rep_id), Touchpoint.deleted_at.is_(None)]


def effective_touchpoints_per_rep_week(session: Session, window: Window, scope: Scope) -> Ratio:
    """有效触点数/销售/周: effective touchpoints in the window ÷ active reps in scope ÷ (window days / 7).

    An effective touchpoint has a next action (text and due time) and at least one customer-side contact
    present. Article baseline 4.2, target ≥ 6.5.
    """
    count = session.scalar(
        select(func.count()).select_from(Touchpoint).where(*_touchpoints_in(window, scope), Touchpoint.is_effective)
    )
    return Ratio.of(count, scope.rep_count * window.days / 7)


def visits_per_rep_month(session: Session, window: Window, scope: Scope) -> Ratio:
    """人均月拜访量: all touchpoints in the window ÷ active reps in scope ÷ (window days / 30). Article: 28.6."""
    count = session.scalar(select(func.count()).select_from(Touchpoint).where(*_touchpoints_in(window, scope)))
    return Ratio.of(count, scope.rep_count * window.days / 30)


def touchpoint_quality(
    session: Session,
    window: Window,
    scope: Scope,
    *,
    lookback_days: int | None = None,
    tz: ZoneInfo | None = None,
) -> Ratio:
    """触点质量得分: the mean over the window's touchpoints of emotion value × decision-chain coverage.

    Emotion value: 积极 1.0, 中性 0.6, 抵触 0.2. Coverage of a touchpoint: the distinct decision roles among
    its customer's contacts present in any touchpoint (by any rep) of the `lookback_days` (setting
    dashboard.quality_lookback_days, 90) local days ending with the touchpoint's own day, ÷ 4 — the coverage
    the rep had reached that day, so a day's score is settled by that day's records (later meetings raise
    later days), which is what lets the aggregates keep it per day (salesnav/metrics/aggregates.py).
    Numerator: the sum of the scores; denominator: the number of touchpoints; value in 0..1.
    """
    return touchpoint_quality_by_window(session, [window], scope, lookback_days=lookback_days, tz=tz)[0]


def touchpoint_quality_by_window(
    session: Session,
    windows: Sequence[Window],
    scope: Scope,
    *,
    lookback_days: int | None = None,
    tz: ZoneInfo | None = None,
) -> list[Ratio]:
    """`touchpoint_quality` of each of `windows` (e.g. a dashboard's window and its weekly trend) in one query:
    the windows' local days are scored once each (`touchpoint_cells`) and added up per window."""
    if not windows:
        return []
    tz = tz or business_tz()
    if lookback_days is None:
        lookback_days = setting_areas.dashboard(session).quality_lookback_days
    per_window = [pieces(w, tz) for w in windows]
    unique = sorted({p for ps in per_window for p in ps}, key=lambda p: (p.start, p.end))
    index = {p: k for k, p in enumerate(unique)}
    totals: dict[int, list[float]] = {}
    for (k, _rep), sums in touchpoint_cells(session, unique, scope, tz, lookback_days).items():
        total = totals.setdefault(k, [0.0, 0.0])
        total[0] += sums.quality
        total[1] += sums.touchpoints
    ratios = []
    for ps in per_window:
        quality = sum(totals.get(index[p], [0.0, 0.0])[0] for p in ps)
        count = sum(totals.get(index[p], [0.0, 0.0])[1] for p in ps)
        ratios.append(Ratio.of(quality / DECISION_ROLE_COUNT, count))
    return ratios


@dataclass(frozen=True)
class TouchpointSums:
    """A rep's touchpoints in a piece of a day: how many, how many effective, and their quality points
    (Σ emotion value × decision roles covered, 0..4 each: the quality numerator before ÷ 4)."""

    touchpoints: int
    effective: int
    quality: float


def touchpoint_cells(
    session: Session, rows: Sequence[Piece], scope: Scope, tz: ZoneInfo, lookback_days: int
) -> dict[tuple[int, int], TouchpointSums]:
    """The touchpoint sums per (index of the piece in `rows`, rep in scope): the live touchpoints in each
    piece, effective ones (`Touchpoint.is_effective`) and quality points — each customer's emotion values ×
    the roles among `Touchpoint.contact_roles` (kept by triggers) of its live touchpoints in the lookback
    days ending with the piece's day. The one definition the raw metrics and the aggregates share."""
    if not rows:
        return {}
    table = pieces_table(rows, tz, lookback_days)
    touched = (
        select(
            table.c.idx,
            Touchpoint.rep_id,
            Touchpoint.customer_id,
            func.sum(_emotion_value()).label("emotion"),
            func.count().label("n"),
            func.count(case((Touchpoint.is_effective, 1))).label("effective"),
        )
        .select_from(Touchpoint)
        .join(table, (Touchpoint.occurred_at >= table.c.start) & (Touchpoint.occurred_at < table.c.end))
        .where(
            Touchpoint.occurred_at >= min(p.start for p in rows),
            Touchpoint.occurred_at < max(p.end for p in rows),
            scope.covers(Touchpoint.rep_id),
            Touchpoint.deleted_at.is_(None),
        )
        .group_by(table.c.idx, Touchpoint.rep_id, Touchpoint.customer_id)
        .cte("touched")
    )
    keys = select(touched.c.idx, touched.c.customer_id).distinct().subquery("keys")
    seen = aliased(Touchpoint)
    roles = (
        select(keys.c.idx, keys.c.customer_id, bit_or(seen.contact_roles).label("roles"))
        .select_from(keys)
        .join(table, table.c.idx == keys.c.idx)
        .join(
            seen,
            (seen.customer_id == keys.c.customer_id)
            & (seen.occurred_at >= table.c.look_start)
            & (seen.occurred_at < table.c.day_end)
            & seen.deleted_at.is_(None),
        )
        .group_by(keys.c.idx, keys.c.customer_id)
        .subquery("roles")
    )
    result = session.execute(
        select(
            touched.c.idx,
            touched.c.rep_id,
            func.sum(touched.c.n),
            func.sum(touched.c.effective),
            func.sum(touched.c.emotion * _coverage(roles.c.roles)),
        )
        .select_from(touched)
        .outerjoin(roles, (roles.c.idx == touched.c.idx) & (roles.c.customer_id == touched.c.customer_id))
        .group_by(touched.c.idx, touched.c.rep_id)
    )
    return {(int(k), int(rep)): TouchpointSums(int(n), int(eff), as_float(points)) for k, rep, n, eff, points in result}


def _emotion_value() -> ColumnElement[float]:
    return case(*((Touchpoint.emotion == e, v) for e, v in EMOTION_VALUE.items()), else_=0.0)


def _coverage(mask: ColumnElement[int]) -> ColumnElement[int]:
    """The decision roles (0..4) among the bits of a contact_roles mask (NULL: none)."""
    bits = func.coalesce(mask, 0)
    return sum((case((bits.op("&")(bit) != 0, 1), else_=0) for bit in CONTACT_ROLE_BITS.values()), literal(0))


def entry_time_per_record(session: Session, window: Window, scope: Scope) -> Duration:
    """录入时长: the median, in seconds, of submit time − form-open time of the window's touchpoints.

    Only touchpoints whose form-open time was captured count (a chat button tap has none). Article: 6 min 14 s
    (374 s) before, 48 s after.
    """
    entry = seconds_between(Touchpoint.submitted_at, Touchpoint.form_opened_at)
    timed = [
        *_touchpoints_in(window, scope),
        Touchpoint.submitted_at.is_not(None),
        Touchpoint.form_opened_at.is_not(None),
        Touchpoint.submitted_at >= Touchpoint.form_opened_at,  # a skewed client clock is not an entry time
    ]
    n = session.scalar(select(func.count()).select_from(Touchpoint).where(*timed)) or 0
    if n == 0:
        return Duration(None, 0)
    # A portable median: the middle one (odd n) or two (even n) rows of the sorted durations.
    middle = list(
        session.scalars(select(entry).where(*timed).order_by(entry).offset((n - 1) // 2).limit(1 if n % 2 else 2))
    )
    return Duration(sum(as_float(x) for x in middle) / len(middle), n)


def is_complete_record() -> ColumnElement[bool]:
    """触点记录完整 in SQL: an effective touchpoint (`is_effective`) that also has a summary (not blank), an
    emotion the rep chose ("emotion" not among `guessed_fields`, as a defaulted or machine-guessed one is), a
    known decision-chain role for every contact present, and — for a 面访 — at least one attachment."""
    roleless_present = exists().where(
        touchpoint_contacts.c.touchpoint_id == Touchpoint.id,
        Contact.id == touchpoint_contacts.c.contact_id,
        Contact.decision_role.is_(None),
    )
    # guessed_fields is a JSON list of field names; its text holds '"emotion"' exactly when the emotion was
    # guessed, on both databases (json_each / ? differ between them, the text does not).
    emotion_guessed = cast(Touchpoint.guessed_fields, String).like('%"emotion"%')
    has_attachment = func.json_array_length(Touchpoint.attachments) > 0
    return (
        Touchpoint.is_effective
        & (func.trim(Touchpoint.summary) != literal_column("''"))
        & ~emotion_guessed
        & ~roleless_present
        & ((Touchpoint.type != TouchpointType.VISIT) | has_attachment)
    )


def record_completeness(session: Session, window: Window, scope: Scope) -> Ratio:
    """触点记录完整率: complete touchpoints in the window ÷ all touchpoints in the window (reps in scope).

    A complete record (`is_complete_record`) is effective — a next action with text and due time, and at least
    one customer-side contact present — and also has a non-blank summary, an emotion the rep chose (not listed
    in `guessed_fields`), a decision-chain role for every contact present, and, for a 面访 (visit), at least
    one attachment. Stricter than 有效触点: article baseline 31 %, 89 % after the new forms.
    """
    total, complete = session.execute(
        select(func.count(), func.count(case((is_complete_record(), 1))))
        .select_from(Touchpoint)
        .where(*_touchpoints_in(window, scope))
    ).one()
    return Ratio.of(complete, total)
