"""Behaviour metrics over touchpoints (客户触点日志): how often, how well, and how fast reps record them."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import ColumnElement, case, exists, func, select
from sqlalchemy.orm import Session

from salesnav.handlers import rule_settings
from salesnav.metrics.results import Duration, Ratio, as_float
from salesnav.metrics.scope import Scope, Window
from salesnav.metrics.sql import seconds_between
from salesnav.models import Contact, DecisionRole, Emotion, Touchpoint, touchpoint_contacts

EMOTION_VALUE = {Emotion.POSITIVE: 1.0, Emotion.NEUTRAL: 0.6, Emotion.RESISTANT: 0.2}
DECISION_ROLE_COUNT = len(DecisionRole)  # 影响者, 采购者, 使用者, 否决者


def _touchpoints_in(window: Window, scope: Scope) -> list[ColumnElement[bool]]:
    return [window.contains(Touchpoint.occurred_at), scope.covers(Touchpoint.rep_id), Touchpoint.deleted_at.is_(None)]


def is_effective() -> ColumnElement[bool]:
    """有效触点 in SQL, the same test as `Touchpoint.is_effective`."""
    return (
        Touchpoint.next_action.is_not(None)
        & (func.trim(Touchpoint.next_action) != "")
        & Touchpoint.next_action_due.is_not(None)
        & exists().where(touchpoint_contacts.c.touchpoint_id == Touchpoint.id)
    )


def effective_touchpoints_per_rep_week(session: Session, window: Window, scope: Scope) -> Ratio:
    """有效触点数/销售/周: effective touchpoints in the window ÷ active reps in scope ÷ (window days / 7).

    An effective touchpoint has a next action (text and due time) and at least one customer-side contact
    present. Article baseline 4.2, target ≥ 6.5.
    """
    count = session.scalar(
        select(func.count()).select_from(Touchpoint).where(*_touchpoints_in(window, scope), is_effective())
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
    if lookback_days is None:
        lookback_days = int(rule_settings.get(session, "dashboard.quality_lookback_days"))
    in_window = _touchpoints_in(window, scope)
    coverage = (
        select(Touchpoint.customer_id, func.count(Contact.decision_role.distinct()).label("roles"))
        .join(touchpoint_contacts, touchpoint_contacts.c.touchpoint_id == Touchpoint.id)
        .join(Contact, Contact.id == touchpoint_contacts.c.contact_id)
        .where(
            Touchpoint.occurred_at >= window.end - timedelta(days=lookback_days),
            Touchpoint.occurred_at < window.end,
            Touchpoint.deleted_at.is_(None),
            Contact.decision_role.is_not(None),
            # Only the customers the window touched: keeps the (customer_id, occurred_at) index in play.
            Touchpoint.customer_id.in_(select(Touchpoint.customer_id).where(*in_window)),
        )
        .group_by(Touchpoint.customer_id)
        .subquery()
    )
    emotion = case(*((Touchpoint.emotion == e, v) for e, v in EMOTION_VALUE.items()), else_=0.0)
    score = emotion * func.coalesce(coverage.c.roles, 0) / float(DECISION_ROLE_COUNT)
    total, count = session.execute(
        select(func.sum(score), func.count())
        .select_from(Touchpoint)
        .outerjoin(coverage, coverage.c.customer_id == Touchpoint.customer_id)
        .where(*in_window)
    ).one()
    return Ratio.of(as_float(total), count)


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
