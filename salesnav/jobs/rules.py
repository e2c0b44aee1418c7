"""The rule jobs: the time scan (a periodic job of the clock), event dispatch, and the slow actions
(PDF upload, e-mail, approval freeze) that must not run inside a request's transaction.

Jobs take ids and plain values and are idempotent: every firing is an `Alert` with a unique
(rule, subject, episode) key, and every message an outbox row with its own key.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select, update
from sqlalchemy.orm import Session, selectinload

from salesnav import clock
from salesnav.handlers import rule_settings
from salesnav.handlers.attachments import store_attachment
from salesnav.handlers.rules import collaboration_overdue, credit_check, engine, registry
from salesnav.handlers.rules.texts import business_tz, local_time
from salesnav.models import Alert, Customer, DomainEvent, Emotion, Touchpoint, TouchpointType, User
from salesnav.models import session as db
from salesnav.ports import notifications
from salesnav.reports.health_pdf import TouchpointLine, render
from salesnav.settings import current_settings

log = logging.getLogger(__name__)


@dataclass
class ScanReport:
    at: datetime
    found: Counter[str] = field(default_factory=Counter)  # rule → matches
    outcomes: Counter[str] = field(default_factory=Counter)  # "rule:fired" → count
    seconds: float = 0.0

    def describe(self) -> str:
        if not self.outcomes:
            return f"{local_time(self.at)} 扫描完成：无新的预警（用时 {self.seconds * 1000:.0f} 毫秒）"
        done = "，".join(f"{k} {v}" for k, v in sorted(self.outcomes.items()))
        return f"{local_time(self.at)} 扫描完成：{done}（用时 {self.seconds * 1000:.0f} 毫秒）"


def scan(fired_at: str | None = None) -> dict[str, int]:
    """The clock's periodic job (every 5 s): evaluate the time rules now."""
    return dict(run_scan(clock.now()).outcomes)


def run_scan(now: datetime) -> ScanReport:
    report = ScanReport(now)
    started = time.perf_counter()
    for rule in registry.time_rules():
        assert rule.find is not None and rule.apply is not None
        with db.transaction() as session:
            if not rule.enabled(session):
                continue
            matches = rule.find(session, now)
        report.found[rule.code] += len(matches)
        done: dict[str, list[int]] = {}
        for match in matches:
            # One unit of work per match: a failure or a crash costs this match only, and the
            # next scan finds it again; the alert key stops it from firing twice.
            try:
                with db.transaction() as session:
                    outcome = rule.apply(session, match, now)
            except Exception:
                log.exception("rule %s failed on %s", rule.code, match)
                outcome = "failed"
            if outcome:
                report.outcomes[f"{rule.code}:{outcome}"] += 1
                done.setdefault(outcome, []).append(match.subject_id)
        for outcome, then in rule.after_scan.items():
            if done.get(outcome):
                with db.transaction() as session:
                    then(session, done[outcome], now)
    report.seconds = time.perf_counter() - started
    return report


def dispatch_event(event_id: int) -> list[str]:
    """Run the event-triggered rules for one recorded event (enqueued after its commit)."""
    with db.transaction() as session:
        event = session.get(DomainEvent, event_id)
        if event is None or event.dispatched_at is not None:
            return []
        ran = registry.react(session, event)
        event.dispatched_at = clock.now()
        return ran


def dispatch_events(event_ids: list[int]) -> int:
    """Run the event-triggered rules for a batch of events recorded together (e.g. an Excel import).

    The same reactions as `dispatch_event`, in one unit of work instead of a job and a transaction per
    event; should one reaction fail, the batch falls back to one unit of work per event, so a bad event
    costs only itself. Returns how many events were dispatched now.
    """
    try:
        with db.transaction() as session:
            return _dispatch(session, event_ids)
    except Exception:
        log.exception("batched dispatch of %d events failed; dispatching one by one", len(event_ids))
    done = 0
    for event_id in event_ids:
        try:
            done += bool(dispatch_event(event_id))
        except Exception:
            log.exception("event %s failed", event_id)
    return done


def _dispatch(session: Session, event_ids: list[int]) -> int:
    rule_settings.remember(session)  # the rules' switches and thresholds, read once for the whole batch
    done = 0
    for start in range(0, len(event_ids), 1000):
        events = session.scalars(
            select(DomainEvent)
            .where(DomainEvent.id.in_(event_ids[start : start + 1000]), DomainEvent.dispatched_at.is_(None))
            .order_by(DomainEvent.id)
        ).all()
        for event in events:
            registry.react(session, event)
        session.execute(
            update(DomainEvent)
            .where(DomainEvent.id.in_([event.id for event in events]))
            .values(dispatched_at=clock.now())
            .execution_options(synchronize_session=False)
        )
        done += len(events)
    return done


def freeze_approval(opportunity_id: int, actor_id: int, episode: str, reason: str, risks: list[str]) -> None:
    with db.transaction() as session:
        credit_check.freeze(session, opportunity_id, actor_id, episode, reason, risks, clock.now())


def send_health_pdf(alert_id: int) -> None:
    """Build the customer's touchpoint PDF, keep it, and queue it to the alert's recipients. The outbox uploads
    it to WeCom when it sends, so a failed upload is retried and, at last, shown as failed: nothing is lost."""

    with db.transaction() as session:
        alert = session.get(Alert, alert_id)
        if alert is None or alert.detail.get("pdf_attachment_id") or alert.detail.get("pdf_sent_at"):
            return
        customer = session.get(Customer, alert.subject_id)
        if customer is None:
            return
        userids = [u.wecom_userid for u in session.scalars(select(User).where(User.id.in_(alert.recipient_ids)))]
        if not userids:
            return
        touchpoints = session.scalars(
            select(Touchpoint)
            .options(selectinload(Touchpoint.contacts), selectinload(Touchpoint.rep))
            .where(Touchpoint.customer_id == customer.id, Touchpoint.deleted_at.is_(None))
            .order_by(Touchpoint.occurred_at.desc(), Touchpoint.id.desc())
        ).all()
        lines = [
            TouchpointLine(
                occurred_at=local_time(tp.occurred_at),
                kind=TouchpointType(tp.type).label,
                emotion=Emotion(tp.emotion).label,
                rep=tp.rep.name,
                contacts="、".join(c.name + (f"（{c.title}）" if c.title else "") for c in tp.contacts),
                summary=tp.summary,
                next_action=(tp.next_action or "")
                + (f"（{local_time(tp.next_action_due)}前）" if tp.next_action_due else ""),
            )
            for tp in touchpoints
        ]
        pdf = render(customer.name, alert.title, lines, clock.now().astimezone(_tz()))
        filename = f"{customer.name}-触点记录-{clock.now().astimezone(_tz()):%Y%m%d}.pdf"
        kept = store_attachment(
            session, None, data=pdf, filename=filename, root=current_settings().attachments_dir, max_bytes=len(pdf)
        )
        for userid in userids:
            notifications.notify(
                session, notifications.FileToMember(userid, kept, key=f"alert:{alert_id}:pdf:{userid}")
            )
        engine.set_detail(alert, pdf_attachment_id=kept.id, pdf_queued_at=clock.now().isoformat(), pdf_bytes=len(pdf))


def send_efficiency_brief(alert_id: int) -> None:
    """E-mail the 效能预警简报 to the department head (skipped when SMTP is not configured)."""
    smtp = current_settings().smtp
    with db.transaction() as session:
        alert = session.get(Alert, alert_id)
        if alert is None or alert.detail.get("emailed_at"):
            return
        brief = collaboration_overdue.brief(session, alert)
    if brief is None or not smtp.host:
        log.info("efficiency brief for alert %s not e-mailed (no SMTP host or no head e-mail)", alert_id)
        return
    notifications.notify(None, notifications.EmailBrief((brief.to,), brief.subject, brief.text, brief.html))
    with db.transaction() as session:
        alert = session.get(Alert, alert_id)
        if alert is not None:
            engine.set_detail(alert, emailed_at=clock.now().isoformat(), emailed_to=brief.to)
            # Only now, sent, is it true to say so.
            head = session.scalars(select(User).where(User.email == brief.to, User.deleted_at.is_(None))).first()
            engine.tell(
                session, head, f"效能预警简报（含明细表）已发送至您的邮箱 {brief.to}。", key=f"alert:{alert_id}:emailed"
            )


def _tz() -> ZoneInfo:
    return business_tz()
