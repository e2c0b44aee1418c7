"""Behaviour metrics over touchpoints (客户触点日志): how often, how well, and how fast reps record them."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from sqlalchemy import ColumnElement, String, case, cast, exists, func, literal, literal_column, select
from sqlalchemy.orm import Session

from salesnav.metrics.results import Duration, Ratio, as_float
from salesnav.metrics.scope import Scope, ScopeKind, Window, active_reps
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


def touchpoint_quality(session: Session, window: Window, scope: Scope, *, lookback_days: int | None = None) -> Ratio:
    """触点质量得分: the mean over the window's touchpoints of emotion value × decision-chain coverage.

    Emotion value: 积极 1.0, 中性 0.6, 抵触 0.2. Coverage of the touchpoint's customer: the distinct decision
    roles among its contacts present in any touchpoint (by any rep) of the `lookback_days` (setting
    dashboard.quality_lookback_days, 90) before the window end, ÷ 4. Numerator: the sum of the scores;
    denominator: the number of touchpoints; value in 0..1.
    """
    return touchpoint_quality_by_window(session, [window], scope, lookback_days=lookback_days)[0]


def touchpoint_quality_by_window(
    session: Session, windows: Sequence[Window], scope: Scope, *, lookback_days: int | None = None
) -> list[Ratio]:
    """`touchpoint_quality` of each of `windows` (e.g. a dashboard's window and its weekly trend) in one query.

    The score is summed per customer: Σ over a customer's touchpoints of emotion × coverage = (Σ emotion) ×
    coverage, so the window's touchpoints and the lookback's roles are each grouped by customer once. The
    roles present come from `Touchpoint.contact_roles` (kept by triggers), not from a join per contact.
    """
    if not windows:
        return []
    if lookback_days is None:
        lookback_days = setting_areas.dashboard(session).quality_lookback_days
    lookback = timedelta(days=lookback_days)
    if scope.kind is ScopeKind.COMPANY:
        return _company_quality_by_window(session, windows, lookback)
    emotion = _emotion_value()
    touched = (
        select(
            Touchpoint.customer_id.label("customer_id"),
            *(
                func.sum(case((w.contains(Touchpoint.occurred_at), emotion), else_=0.0)).label(f"s{k}")
                for k, w in enumerate(windows)
            ),
            *(func.count(case((w.contains(Touchpoint.occurred_at), 1))).label(f"n{k}") for k, w in enumerate(windows)),
        )
        .where(
            Touchpoint.occurred_at >= min(w.start for w in windows),
            Touchpoint.occurred_at < max(w.end for w in windows),
            scope.covers(Touchpoint.rep_id),
            Touchpoint.deleted_at.is_(None),
        )
        .group_by(Touchpoint.customer_id)
        .cte("touched")
    )
    in_lookback = [
        Touchpoint.occurred_at >= min(w.end for w in windows) - lookback,
        Touchpoint.occurred_at < max(w.end for w in windows),
        Touchpoint.deleted_at.is_(None),
    ]
    # A team touches few customers: read only theirs (the (customer_id, occurred_at) index); the company
    # scope was answered above.
    in_lookback.append(Touchpoint.customer_id.in_(select(touched.c.customer_id)))
    roles = (
        select(
            Touchpoint.customer_id.label("customer_id"),
            *(
                bit_or(
                    case(
                        (
                            (Touchpoint.occurred_at >= w.end - lookback) & (Touchpoint.occurred_at < w.end),
                            Touchpoint.contact_roles,
                        ),
                        else_=0,
                    )
                ).label(f"r{k}")
                for k, w in enumerate(windows)
            ),
        )
        .where(*in_lookback)
        .group_by(Touchpoint.customer_id)
        .subquery("roles")
    )

    row = session.execute(
        select(
            *(func.sum(touched.c[f"s{k}"] * _coverage(roles.c[f"r{k}"])) for k in range(len(windows))),
            *(func.sum(touched.c[f"n{k}"]) for k in range(len(windows))),
        )
        .select_from(touched)
        .outerjoin(roles, roles.c.customer_id == touched.c.customer_id)
    ).one()
    return _quality_ratios(row, len(windows))


def _company_quality_by_window(session: Session, windows: Sequence[Window], lookback: timedelta) -> list[Ratio]:
    """`touchpoint_quality_by_window` for the whole company: the company touches nearly every customer, so one
    pass over the lookback's live touchpoints (from the covering index) groups both the windows' emotion sums
    (of the reps in scope) and the roles present by customer — half the rows and one grouping fewer than
    reading the windows and the lookback apart."""
    span_start = min(min(w.start for w in windows), min(w.end for w in windows) - lookback)
    # An outer join marks the rows of reps in scope; an IN in each window's condition would be probed per window.
    reps = active_reps().subquery("reps")
    rows = (
        select(
            Touchpoint.customer_id,
            Touchpoint.occurred_at,
            _emotion_value().label("emotion"),
            Touchpoint.contact_roles,
            reps.c.id.label("scoped_rep"),
        )
        .outerjoin(reps, reps.c.id == Touchpoint.rep_id)
        .where(
            Touchpoint.occurred_at >= span_start,
            Touchpoint.occurred_at < max(w.end for w in windows),
            Touchpoint.deleted_at.is_(None),
        )
        .subquery("rows")
    )

    def counted(w: Window) -> ColumnElement[bool]:
        return (rows.c.occurred_at >= w.start) & (rows.c.occurred_at < w.end) & rows.c.scoped_rep.is_not(None)

    per_customer = (
        select(
            *(func.sum(case((counted(w), rows.c.emotion), else_=0.0)).label(f"s{k}") for k, w in enumerate(windows)),
            *(func.count(case((counted(w), 1))).label(f"n{k}") for k, w in enumerate(windows)),
            *(
                bit_or(
                    case(
                        ((rows.c.occurred_at >= w.end - lookback) & (rows.c.occurred_at < w.end), rows.c.contact_roles),
                        else_=0,
                    )
                ).label(f"r{k}")
                for k, w in enumerate(windows)
            ),
        )
        .group_by(rows.c.customer_id)
        .subquery("per_customer")
    )
    n = len(windows)
    row = session.execute(
        select(
            *(func.sum(per_customer.c[f"s{k}"] * _coverage(per_customer.c[f"r{k}"])) for k in range(n)),
            *(func.sum(per_customer.c[f"n{k}"]) for k in range(n)),
        )
    ).one()
    return _quality_ratios(row, n)


def _emotion_value() -> ColumnElement[float]:
    return case(*((Touchpoint.emotion == e, v) for e, v in EMOTION_VALUE.items()), else_=0.0)


def _coverage(mask: ColumnElement[int]) -> ColumnElement[int]:
    """The decision roles (0..4) among the bits of a contact_roles mask (NULL: none)."""
    bits = func.coalesce(mask, 0)
    return sum((case((bits.op("&")(bit) != 0, 1), else_=0) for bit in CONTACT_ROLE_BITS.values()), literal(0))


def _quality_ratios(row: Any, n: int) -> list[Ratio]:
    """The ratios from a row of n score sums (Σ emotion × roles covered) then n touchpoint counts."""
    return [Ratio.of(as_float(row[k]) / DECISION_ROLE_COUNT, row[n + k]) for k in range(n)]


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
