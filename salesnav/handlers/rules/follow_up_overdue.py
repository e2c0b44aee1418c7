"""Rule 1, follow-up overdue (跟进超时): an open opportunity not followed up for > 72 h.

→ a WeCom message to the rep and the direct manager and a task for the rep; the task still
open 48 h later → escalated to the sales director. A new touchpoint on the opportunity, or the
opportunity closing, resolves it. The episode is the last follow-up time: one alert per silence.

A deal whose last follow-up is a touchpoint an Excel import wrote (history, often long silent) is left
alone for `follow_up.import_grace_hours` after the import: the import sends the rep one digest instead
(excel_import/commit.py), and nobody is alerted or escalated per deal before the grace ends. A deal in the
public pool (handlers/pool.py) is nobody's to follow up until it is claimed or assigned.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from salesnav.handlers import rule_settings
from salesnav.handlers.deal_words import customer_and_deal, deal_name
from salesnav.handlers.follow_up_policy import follow_up_policy
from salesnav.handlers.rules import engine, events
from salesnav.handlers.rules.engine import Match, Rule
from salesnav.handlers.rules.texts import how_long, local_time, yuan
from salesnav.handlers.tasks import create_task
from salesnav.handlers.working_time import RuleTime
from salesnav.models import (
    POOL_USERID,
    Alert,
    AlertState,
    CaptureSource,
    DomainEvent,
    Opportunity,
    OpportunityStatus,
    Task,
    TaskStatus,
    Touchpoint,
    TouchpointType,
    User,
    setting_areas,
)

CODE = "follow_up_overdue"
ORIGIN = f"rule:{CODE}"
BATCH = 1000  # per scan; the rest are found by the next scan, seconds later


def find(session: Session, now: datetime) -> list[Match]:
    cutoff = follow_up_policy(session).silent_before(now)
    grace = timedelta(hours=rule_settings.follow_up(session).import_grace_hours)
    # ix_opportunities_status_last_follow_up: a range scan over the overdue open deals only.
    rows = session.execute(
        select(Opportunity.id, Opportunity.last_follow_up_at)
        .outerjoin(Touchpoint, Touchpoint.id == Opportunity.last_touchpoint_id)
        .where(
            Opportunity.status == OpportunityStatus.OPEN,
            Opportunity.last_follow_up_at < cutoff,
            Opportunity.deleted_at.is_(None),
            or_(Touchpoint.source != CaptureSource.EXCEL_IMPORT, Touchpoint.created_at <= now - grace),
            # A deal in the public pool (公海) has nobody to chase it until someone claims it.
            Opportunity.owner_id.not_in(select(User.id).where(User.wecom_userid == POOL_USERID)),
        )
        .order_by(Opportunity.last_follow_up_at)
        .limit(BATCH)
    ).all()
    keyed = {
        engine.alert_key(CODE, "opportunity", opp_id, engine.episode_of(last)): (opp_id, engine.episode_of(last))
        for opp_id, last in rows
    }
    fired = set(session.scalars(select(Alert.idempotency_key).where(Alert.idempotency_key.in_(list(keyed)))))
    matches = [Match(CODE, "fire", opp_id, ep) for key, (opp_id, ep) in keyed.items() if key not in fired]
    matches += _open_alert_matches(session, now)
    return matches


def _open_alert_matches(session: Session, now: datetime) -> list[Match]:
    """Open alerts whose cause went away (resolve) or whose task waited too long (escalate)."""
    escalate_before = follow_up_policy(session).escalates_before(now)
    rows = session.execute(
        select(Alert.id, Alert.state, Alert.raised_at, Alert.detail, Opportunity.status, Opportunity.last_follow_up_at)
        .join(Opportunity, Opportunity.id == Alert.subject_id)
        .where(Alert.state.in_(engine.OPEN_STATES), Alert.rule == CODE)
    ).all()
    matches = []
    for alert_id, state, raised_at, detail, status, last in rows:
        if status is not OpportunityStatus.OPEN or engine.episode_of(last) != detail.get("episode"):
            matches.append(Match(CODE, "resolve", alert_id))
        elif state is AlertState.OPEN and raised_at <= escalate_before:
            matches.append(Match(CODE, "escalate", alert_id))
    return matches


def _within(rule_clock: RuleTime, hours: int, due: datetime | None) -> str:
    """「48 小时内」, or with working days only the deadline itself: 「12-07 10:00 前（48 小时，只计工作日）」."""
    if due is None or not rule_clock.working_days_only:
        return f"{hours} 小时内"
    return f"{local_time(due)} 前（{hours} 小时，只计工作日）"


def apply(session: Session, match: Match, now: datetime) -> str | None:
    if match.action == "fire":
        return "fired" if fire(session, match.subject_id, match.episode, now) else None
    alert = session.get(Alert, match.subject_id)
    if alert is None or alert.state not in engine.OPEN_STATES:
        return None
    if match.action == "escalate":
        return "escalated" if escalate(session, alert, now) else None
    opp = session.get(Opportunity, alert.subject_id)
    if opp is not None and opp.status is not OpportunityStatus.OPEN:
        return "resolved" if _resolve(session, alert, now, None, f"商机已关闭（{opp.status.label}）") else None
    return "resolved" if _resolve(session, alert, now, None, "已有新的跟进记录") else None


def fire(session: Session, opportunity_id: int, episode: str, now: datetime) -> Alert | None:
    opp = session.get(Opportunity, opportunity_id)
    if opp is None or opp.status is not OpportunityStatus.OPEN or opp.deleted_at:
        return None
    if engine.episode_of(opp.last_follow_up_at) != episode:
        return None  # followed up since the scan looked
    silent = now - opp.last_follow_up_at  # on the calendar, as the messages say it
    policy = follow_up_policy(session)  # read once for this alert: the check, the task's deadline, the message
    if not policy.is_overdue(opp.last_follow_up_at, now):
        return None
    rule_clock, escalate_hours = policy.time, policy.escalate_after_hours
    rep = opp.owner
    manager = engine.manager_of(session, rep)
    name = deal_name(opp.customer.name, opp.title)
    deal = f"客户「{opp.customer.name}」的商机「{name}」（{opp.stage.name}，预计 {yuan(opp.expected_amount_fen)}）"
    alert = engine.raise_alert(
        session,
        rule=CODE,
        subject_type="opportunity",
        subject_id=opp.id,
        episode=episode,
        # No duration in the title: it is read later (the card, the escalation), when the figure has moved on.
        title=f"{customer_and_deal(opp.customer.name, opp.title)}超时未跟进",
        now=now,
        detail={"last_follow_up_at": opp.last_follow_up_at.isoformat(), "silent_hours": silent.total_seconds() / 3600},
        recipient_ids=[u.id for u in engine.distinct_users(rep, manager)],
    )
    if alert is None:
        return None
    task = create_task(
        session,
        None,
        assignee_id=rep.id,
        title=f"跟进{customer_and_deal(opp.customer.name, opp.title)}",
        detail=f"{deal}已 {how_long(silent)} 未跟进，请联系客户并记录触点。",
        due_at=rule_clock.after(now, escalate_hours),  # also when the director is told
        origin=ORIGIN,
        subject_type="opportunity",
        subject_id=opp.id,
    )
    engine.set_detail(alert, task_id=task.id)
    last = local_time(opp.last_follow_up_at)
    engine.notify(
        session,
        alert,
        rep,
        f"【跟进超时预警】{deal}已 {how_long(silent)} 未跟进（最后跟进：{last}）。已为您创建待办，"
        f"请在 {_within(rule_clock, escalate_hours, task.due_at)}联系客户并记录触点，逾期将升级给销售总监。",
    )
    if manager is not None and manager.id != rep.id:
        engine.notify(
            session,
            alert,
            manager,
            f"【跟进超时预警】{rep.name}负责的{deal}已 {how_long(silent)} 未跟进（最后跟进：{last}）。"
            f"已提醒{rep.name}并创建跟进待办。",
        )
    return alert


def escalate(session: Session, alert: Alert, now: datetime) -> bool:
    task = session.get(Task, alert.detail.get("task_id")) if alert.detail.get("task_id") else None
    if task is None or task.status is not TaskStatus.OPEN:
        return False  # the rep closed the task; the alert stays open until a touchpoint resolves it
    claimed = session.execute(
        update(Alert)
        .where(Alert.id == alert.id, Alert.state == AlertState.OPEN)
        .values(state=AlertState.ESCALATED, escalated_at=now)
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount != 1:  # type: ignore[attr-defined]  # an UPDATE's result is a CursorResult, which has rowcount
        return False  # another worker escalated it
    session.refresh(alert)
    task.escalation_level = max(task.escalation_level, 1)
    opp = session.get(Opportunity, alert.subject_id)
    if opp is None:
        return True
    rep = opp.owner
    manager = engine.manager_of(session, rep)
    director = engine.director_above(session, rep)
    if director is not None:
        # The director is told once per scan, all escalations in one card (`tell_escalations`); the sentence
        # is written now, with the one duration every view of this escalation shows.
        silent, waited = how_long(now - opp.last_follow_up_at), how_long(now - alert.raised_at)
        name = deal_name(opp.customer.name, opp.title)
        text = (
            f"【跟进超时升级】{rep.name}（主管：{manager.name if manager else '无'}）负责的客户「{opp.customer.name}」"
            f"的商机「{name}」（{opp.stage.name}，预计 {yuan(opp.expected_amount_fen)}）"
            f"已 {silent} 未跟进，跟进待办已过 {waited} 仍未完成，请督办。"
        )
        line = f"{customer_and_deal(opp.customer.name, opp.title)}：{rep.name}，已 {silent} 未跟进"
        engine.set_detail(alert, escalated_to=director.id, escalation_text=text, escalation_line=line)
        alert.recipient_ids = [*alert.recipient_ids, director.id]
    return True


def tell_escalations(session: Session, alert_ids: list[int], now: datetime) -> None:
    """After a scan: each director hears of the alerts escalated to them in it once — one alert as its own card,
    several as one digest card listing them."""
    by_director: dict[int, list[Alert]] = {}
    for alert in session.scalars(select(Alert).where(Alert.id.in_(alert_ids)).order_by(Alert.id)):
        if alert.detail.get("escalated_to") and alert.state is AlertState.ESCALATED:
            by_director.setdefault(alert.detail["escalated_to"], []).append(alert)
    for director_id, alerts in by_director.items():
        director = session.get(User, director_id)
        if len(alerts) == 1:
            engine.notify(session, alerts[0], director, alerts[0].detail["escalation_text"], tag="escalated")
        else:
            engine.notify_digest(
                session, alerts, director, [a.detail["escalation_line"] for a in alerts], now, rule_name=RULE.name
            )


def _resolve(session: Session, alert: Alert, now: datetime, by: User | None, resolution: str) -> bool:
    if not engine.resolve(session, alert, now=now, by_id=by.id if by else None, resolution=resolution):
        return False
    task = session.get(Task, alert.detail.get("task_id")) if alert.detail.get("task_id") else None
    if task is not None and task.status is TaskStatus.OPEN:
        if by is not None:
            task.status, task.completed_at, task.completed_by_id = TaskStatus.DONE, now, by.id
        else:
            task.status = TaskStatus.CANCELLED
    return True


def on_touchpoint(session: Session, event: DomainEvent) -> None:
    """A new touchpoint on the opportunity resolves its overdue alert and completes the task."""
    opportunity_id = event.payload.get("opportunity_id")
    if not opportunity_id:
        return
    opp = session.get(Opportunity, opportunity_id)
    touchpoint = session.get(Touchpoint, event.subject_id)
    if opp is None or touchpoint is None:
        return
    current = engine.episode_of(opp.last_follow_up_at)
    rep = session.get(User, touchpoint.rep_id)
    kind = TouchpointType(touchpoint.type).label
    for alert in engine.open_alerts_for(session, CODE, "opportunity", opp.id):
        if alert.detail.get("episode") != current:
            _resolve(
                session,
                alert,
                event.occurred_at,
                rep,
                f"{rep.name if rep else ''}于 {local_time(touchpoint.occurred_at)} 记录了新触点（{kind}）",
            )


def on_stage_advanced(session: Session, event: DomainEvent) -> None:
    opp = session.get(Opportunity, event.subject_id)
    if opp is None or opp.status is OpportunityStatus.OPEN:
        return
    for alert in engine.open_alerts_for(session, CODE, "opportunity", opp.id):
        _resolve(session, alert, event.occurred_at, None, f"商机已关闭（{opp.status.label}）")


RULE = Rule(
    code=CODE,
    name="跟进超时",
    trigger="时间：扫描未关闭商机的最后跟进时间",
    area=setting_areas.FollowUp,
    settings=(
        "follow_up.overdue_hours",
        "follow_up.escalate_after_hours",
        "follow_up.import_grace_hours",
        "rules.working_days_only",
    ),
    find=find,
    apply=apply,
    after_scan={"escalated": tell_escalations},
    reactions={events.TOUCHPOINT_LOGGED: on_touchpoint, events.STAGE_ADVANCED: on_stage_advanced},
)
