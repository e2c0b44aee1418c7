"""Chat captures in progress (CaptureDraft): opened by a card or a menu tap, finished by the next message."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from salesnav import clock
from salesnav.handlers import rule_settings
from salesnav.models import User
from salesnav.models.messaging import CaptureDraft, DraftKind, DraftStep

WAITING = (DraftStep.AWAITING_SUMMARY, DraftStep.AWAITING_DETAILS)


def window(session: Session) -> timedelta:
    return timedelta(minutes=rule_settings.capture(session).summary_window_minutes)


def open_draft(session: Session, user: User, kind: DraftKind, step: DraftStep, **fields: object) -> CaptureDraft:
    draft = CaptureDraft(user_id=user.id, kind=kind, step=step, opened_at=clock.now(), data={}, **fields)
    session.add(draft)
    session.flush()
    return draft


def by_task(session: Session, user: User, task_id: str | None) -> CaptureDraft | None:
    if not task_id:
        return None
    return session.scalars(
        select(CaptureDraft).where(CaptureDraft.task_id == task_id, CaptureDraft.user_id == user.id)
    ).first()


def waiting_for_message(session: Session, user: User, now: datetime | None = None) -> CaptureDraft | None:
    """The user's latest capture that is still waiting for a message (summary or missing details)."""
    now = now or clock.now()
    return session.scalars(
        select(CaptureDraft)
        .where(CaptureDraft.user_id == user.id, CaptureDraft.step.in_(WAITING), CaptureDraft.expires_at > now)
        .order_by(CaptureDraft.opened_at.desc(), CaptureDraft.id.desc())
        .limit(1)
    ).first()


def close_waiting(session: Session, user: User) -> None:
    """A new capture supersedes any that was still waiting, so a reply lands where the rep expects."""
    for draft in session.scalars(
        select(CaptureDraft).where(CaptureDraft.user_id == user.id, CaptureDraft.step.in_(WAITING))
    ):
        draft.step = DraftStep.DONE
