"""The report jobs of the chat channel (they render its cards): periodic jobs that the clock names by path
(every minute) and that queue, once per slot,

- each active rep's daily report card at `reports.daily_hour` on working days;
- each manager's team daily report at `reports.team_daily_hour` on working days;
- on Mondays at `reports.team_weekly_hour`, each manager's weekly report and the director's;
- at `reports.chase_hour` on working days, each rep's records to complete (补录), when they have any;

and, on request from a team report's card, the workbook as a file (`send_workbook`).

Exactly once: each card is an outbox row whose idempotency key names the recipient and the day or window,
inserted with ON CONFLICT DO NOTHING in one statement for all recipients (as the battle pack's). A clock that was
down at the hour catches up at its first tick that day. The statements do not depend on how many managers or
reps there are (handlers/reports/team.py reads each scope once).
"""

from __future__ import annotations

import json
import logging
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam, select, text
from sqlalchemy.orm import Session

from salesnav import clock
from salesnav.bot import outbox, report_cards
from salesnav.handlers import collections
from salesnav.handlers.attachments import keep_generated
from salesnav.handlers.records import record_event
from salesnav.handlers.reports import chase, daily, team
from salesnav.handlers.reports.schedule import ReportSettings, at, day_window, previous_week
from salesnav.handlers.reports.workbook import filename, render
from salesnav.jobs.queue import enqueue_after_commit
from salesnav.metrics.scope import Scope, ScopeKind, Window
from salesnav.models import DomainEvent, OutboundMessage, Role, User
from salesnav.models import session as db
from salesnav.models.base import UTCDateTime
from salesnav.reports.xlsx import XLSX_MIME
from salesnav.settings import current_settings

log = logging.getLogger(__name__)
DELIVERY_BATCH = 50
CHASE_RAN = "reports.chase_queued"  # one per business day (subject "day", id YYYYMMDD)


def _tz() -> ZoneInfo:
    return current_settings().business_tz


# --- queueing many cards in one statement ----------------------------------------------------------------

_INSERT = {
    "postgresql": """
        INSERT INTO outbound_messages (recipient_userid, msg_type, body, idempotency_key, status, attempts,
                                       next_attempt_at, created_at, updated_at)
        SELECT r.userid, 'template_card', r.body, r.key, 'queued', 0, :now, :now, :now
        FROM json_to_recordset(CAST(:rows AS json)) AS r(userid text, key text, body json)
        ON CONFLICT (idempotency_key) DO NOTHING
        RETURNING id
    """,
    "sqlite": """
        INSERT INTO outbound_messages (recipient_userid, msg_type, body, idempotency_key, status, attempts,
                                       next_attempt_at, created_at, updated_at)
        SELECT json_extract(value, '$.userid'), 'template_card', json_extract(value, '$.body'),
               json_extract(value, '$.key'), 'queued', 0, :now, :now, :now
        FROM json_each(:rows) WHERE true
        ON CONFLICT (idempotency_key) DO NOTHING
        RETURNING id
    """,
}


def queue_cards(session: Session, cards: list[tuple[str, str, dict[str, Any]]]) -> list[int]:
    """(userid, idempotency key, card) → outbox rows in one statement; a key already there is skipped."""
    if not cards:
        return []
    rows = [{"userid": userid, "key": key, "body": card} for userid, key, card in cards]
    statement = text(_INSERT[session.get_bind().dialect.name]).bindparams(bindparam("now", type_=UTCDateTime()))
    ids = list(session.scalars(statement, {"rows": json.dumps(rows, ensure_ascii=False), "now": outbox.queue_time()}))
    # One delivery job per batch rather than per card: five hundred reports are eleven rq jobs, not five hundred
    # round trips to Redis; the batches still go out side by side on the outbound workers.
    for start in range(0, len(ids), DELIVERY_BATCH):
        batch = ids[start : start + DELIVERY_BATCH]
        enqueue_after_commit(session, deliver_batch, batch, key=f"outbound-batch:{batch[0]}", queue="outbound")
    return ids


def deliver_batch(message_ids: list[int]) -> None:
    """Deliver each queued card of a batch (outbox.deliver: a no-op for one already sent)."""
    for message_id in message_ids:
        try:
            outbox.deliver(message_id)
        except Exception:
            # One broken row must not hold back the others; the outbox's flush brings it round again.
            log.exception("delivering outbound message %s failed", message_id)


def _keys_like(session: Session, pattern: str) -> set[str]:
    return set(
        session.scalars(select(OutboundMessage.idempotency_key).where(OutboundMessage.idempotency_key.like(pattern)))
    )


def _active_reps(session: Session) -> list[User]:
    return list(
        session.scalars(
            select(User)
            .where(User.role == Role.REP, User.active.is_(True), User.deleted_at.is_(None))
            .order_by(User.wecom_userid)
        )
    )


# --- the rep's daily report ------------------------------------------------------------------------------


def send_daily_due(fired_at: str | None = None) -> int:
    return run_daily(clock.now())


def run_daily(now: datetime, *, ignore_hour: bool = False) -> int:
    """Queue today's daily report card to each active rep who has none yet. Returns how many were queued."""
    tz = _tz()
    day = now.astimezone(tz).date()
    with db.transaction() as session:
        settings = ReportSettings.load(session)
        if not settings.enabled or not settings.working_day(day):
            return 0
        if not ignore_hour and now < at(day, settings.daily_hour, tz):
            return 0
        sent = _keys_like(session, f"daily_report:%:{day.isoformat()}")
        reps = [r for r in _active_reps(session) if f"daily_report:{r.id}:{day.isoformat()}" not in sent]
        reports = daily.build(session, reps, day, tz)
        cards = [
            (r.rep_userid, r.key, report_cards.daily_card(r, tz, task_id=report_cards.daily_task_id(r)))
            for r in reports
        ]
        return len(queue_cards(session, cards))


# --- team reports ----------------------------------------------------------------------------------------


def send_team_due(fired_at: str | None = None) -> int:
    now = clock.now()
    return run_team(now, "daily") + run_team(now, "weekly")


def team_window(kind: str, day: date) -> Window:
    """The window a report of `kind` sent on `day` covers: that day, or the week before."""
    return day_window(day, _tz()) if kind == "daily" else previous_week(day, _tz())


def window_from(kind: str, first_day: date) -> Window:
    """The window of a report of `kind` that starts on `first_day` (what a card's button names)."""
    return day_window(first_day, _tz()) if kind == "daily" else Window.week_of(first_day, _tz())


def run_team(now: datetime, kind: str, *, ignore_hour: bool = False) -> int:
    """Queue the team reports of `kind` due now (daily: working days; weekly: Mondays). Returns how many."""
    tz = _tz()
    day = now.astimezone(tz).date()
    with db.transaction() as session:
        settings = ReportSettings.load(session)
        if not settings.enabled:
            return 0
        if kind == "daily":
            due_day, hour = settings.working_day(day), settings.team_daily_hour
        else:
            due_day, hour = day.weekday() == 0, settings.team_weekly_hour
        if not due_day or (not ignore_hour and now < at(day, hour, tz)):
            return 0
        window = team_window(kind, day)
        if _keys_like(session, f"team_report:{kind}:%:{window.start:%Y%m%d%H}") and not ignore_hour:
            return 0  # this window's reports are queued (a new manager's first one comes with the next window)
        reports = team.reports_for_all(session, kind, window, now, tz)
        cards = [
            (r.recipient_userid, r.key, report_cards.team_card(r, tz, task_id=report_cards.team_task_id(r)))
            for r in reports
        ]
        queued = queue_cards(session, cards)
    log.info("%s team reports: %d built, %d queued", kind, len(reports), len(queued))
    return len(queued)


def send_workbook(user_id: int, kind: str, day_iso: str) -> None:
    """The workbook of the team report the user tapped 发送Excel on, kept and sent to them as a file."""
    tz = _tz()
    with db.transaction() as session:
        user = session.get(User, user_id)
        if user is None:
            return
        window = window_from(kind, date.fromisoformat(day_iso))
        report = team.report_for(session, kind, user, window, clock.now(), tz)
        data = render(report, tz)
        kept = keep_generated(
            session,
            data=data,
            filename=filename(report, tz),
            content_type=XLSX_MIME,
            root=current_settings().attachments_dir,
        )
        outbox.queue_file(
            session, user.wecom_userid, kept, idempotency_key=f"report-xlsx:{user.id}:{kind}:{day_iso}:{kept.id}"
        )


# --- records to complete (补录) --------------------------------------------------------------------------


def send_chase_due(fired_at: str | None = None) -> int:
    return run_chase(clock.now())


def run_chase(now: datetime, *, ignore_hour: bool = False) -> int:
    """Queue to each rep with records that do not count yet the list of them, once a working day."""
    tz = _tz()
    day = now.astimezone(tz).date()
    with db.transaction() as session:
        settings = ReportSettings.load(session)
        if not settings.enabled or not settings.working_day(day):
            return 0
        if not ignore_hour and now < at(day, settings.chase_hour, tz):
            return 0
        marker = int(day.strftime("%Y%m%d"))
        if not ignore_hour and session.scalar(
            select(DomainEvent.id).where(DomainEvent.kind == CHASE_RAN, DomainEvent.subject_id == marker).limit(1)
        ):
            return 0  # today's lists are queued (or nobody had anything to complete)
        items = chase.items_for(session, now, Scope(ScopeKind.COMPANY), tz)
        userids = dict(session.execute(select(User.id, User.wecom_userid).where(User.id.in_(list(items)))).all())
        cards = [
            (
                userids[rep_id],
                f"chase:{rep_id}:{day.isoformat()}",
                report_cards.chase_card(rep_items, task_id=f"chase-{rep_id}-{day:%Y%m%d}"),
            )
            for rep_id, rep_items in items.items()
            if rep_id in userids
        ]
        queued = queue_cards(session, cards)
        record_event(session, CHASE_RAN, "day", marker, None, queued=len(queued))
        return len(queued)


# --- 回款 reminders and overdue flags --------------------------------------------------------------------


def collections_due(fired_at: str | None = None) -> int:
    """Reminders before due dates, one flag per overdue receivable, flags cleared by payments."""
    with db.transaction() as session:
        if not ReportSettings.load(session).enabled:
            return 0
        done = collections.run(session, clock.now(), _tz())
    return done.reminded + done.flagged + done.cleared
