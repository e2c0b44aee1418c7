"""The rule engine: what a rule is, raising alerts once per episode, notifying, resolving (the rules: registry.py).

Time rules expose `find(session, now) -> [Match]` (indexed queries returning only what is due)
and `apply(session, match, now)`; the scan job (salesnav/jobs/rules.py) applies each match in its
own unit of work, so a crash loses at most the match in hand and the next scan picks it up.
Event rules expose reactions per event kind, run after the event's transaction commits.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from salesnav.handlers import rule_settings
from salesnav.models import Alert, AlertState, DomainEvent, Role, User
from salesnav.models.setting_areas import Switched
from salesnav.ports import notifications

OPEN_STATES = (AlertState.OPEN, AlertState.ESCALATED)


@dataclass(frozen=True)
class Match:
    """Something a time rule found due: fire an alert, escalate one, or resolve one."""

    rule: str
    action: str  # fire, escalate, resolve
    subject_id: int  # the subject for fire; the alert id for escalate and resolve
    episode: str = ""


@dataclass(frozen=True)
class Rule:
    code: str
    name: str
    trigger: str  # shown by `salesnav rules list`
    area: type[Switched]  # the rule's settings area; its `enabled` is the on/off switch
    settings: tuple[str, ...]  # the other settings, by key (shown by `salesnav rules list`, edited by the admin)
    find: Callable[[Session, datetime], list[Match]] | None = None
    apply: Callable[[Session, Match, datetime], str | None] | None = None
    reactions: dict[str, Callable[[Session, DomainEvent], None]] = field(default_factory=dict)
    # outcome → what to do once a scan applied all matches with that outcome (given their alert ids)
    after_scan: dict[str, Callable[[Session, list[int], datetime], None]] = field(default_factory=dict)

    @property
    def switch(self) -> str:
        """The on/off setting's key, for the pages and the CLI that list and edit settings by key."""
        return f"{self.area.PREFIX}.enabled"

    def enabled(self, session: Session) -> bool:
        return rule_settings.area(session, self.area).enabled


# --- alerts ---------------------------------------------------------------------------------------


def alert_key(rule: str, subject_type: str, subject_id: int, episode: str) -> str:
    return f"{rule}:{subject_type}:{subject_id}:{episode}"


def episode_of(moment: datetime) -> str:
    """An episode named by the moment it started (UTC, to the second): stable across workers."""
    return moment.strftime("%Y%m%dT%H%M%S")


def raise_alert(
    session: Session,
    *,
    rule: str,
    subject_type: str,
    subject_id: int,
    episode: str,
    title: str,
    now: datetime,
    detail: dict[str, Any] | None = None,
    recipient_ids: list[int] | None = None,
) -> Alert | None:
    """Insert the alert of this episode, or return None when it already exists.

    The unique key does the real work: a concurrent twin blocks on it until we commit and then
    fails, so two workers (or a re-run after a crash) can never both go on to notify.
    """
    key = alert_key(rule, subject_type, subject_id, episode)
    if session.scalars(select(Alert.id).where(Alert.idempotency_key == key)).first() is not None:
        return None
    alert = Alert(
        rule=rule,
        idempotency_key=key,
        subject_type=subject_type,
        subject_id=subject_id,
        state=AlertState.OPEN,
        title=title,
        detail={"episode": episode, **(detail or {})},
        recipient_ids=list(recipient_ids or []),
        raised_at=now,
    )
    try:
        with session.begin_nested():
            session.add(alert)
    except IntegrityError:
        return None
    return alert


def set_detail(alert: Alert, **values: Any) -> None:
    alert.detail = {**alert.detail, **values}  # a new dict: JSON columns do not track in-place changes


def resolve(session: Session, alert: Alert, *, now: datetime, by_id: int | None, resolution: str) -> bool:
    """Resolve an open or escalated alert; False when someone else already resolved it."""
    session.flush()  # pending changes to the alert (detail) go in before the refresh below
    changed = _resolve_where(session, Alert.id == alert.id, now=now, by_id=by_id, resolution=resolution)
    session.refresh(alert)
    return changed == 1


def resolve_by_keys(session: Session, keys: Sequence[str], *, now: datetime, resolution: str) -> int:
    """`resolve` for the open alerts among `keys` (their idempotency keys), in a statement per thousand, without
    an actor: what ended them is the system's doing. Returns how many were resolved."""
    session.flush()
    return sum(
        _resolve_where(
            session, Alert.idempotency_key.in_(keys[start : start + 1000]), now=now, by_id=None, resolution=resolution
        )
        for start in range(0, len(keys), 1000)
    )


def _resolve_where(
    session: Session, which: ColumnElement[bool], *, now: datetime, by_id: int | None, resolution: str
) -> int:
    """Resolve the open or escalated alerts `which` selects (guarded by state: of two resolvers one wins)."""
    changed = session.execute(
        update(Alert)
        .where(which, Alert.state.in_(OPEN_STATES))
        .values(state=AlertState.RESOLVED, resolved_at=now, resolved_by_id=by_id, resolution=resolution[:200])
        .execution_options(synchronize_session=False)
    )
    return int(changed.rowcount)  # type: ignore[attr-defined]  # an UPDATE's result is a CursorResult


def open_alerts_for(session: Session, rule: str, subject_type: str, subject_id: int) -> list[Alert]:
    return list(
        session.scalars(
            select(Alert).where(
                Alert.subject_type == subject_type,
                Alert.subject_id == subject_id,
                Alert.rule == rule,
                Alert.state.in_(OPEN_STATES),
            )
        )
    )


# --- people and messages ----------------------------------------------------------------------------


def manager_of(session: Session, user: User) -> User | None:
    return session.get(User, user.manager_id) if user.manager_id else None


def director_above(session: Session, user: User) -> User | None:
    """The first sales director up the reporting line; any active director when the line has none."""
    seen: set[int] = set()
    current: User | None = user
    while current is not None and current.id not in seen:
        seen.add(current.id)
        if current.role is Role.DIRECTOR and current.active and not current.deleted_at:
            return current
        current = manager_of(session, current)
    return session.scalars(
        select(User)
        .where(User.role == Role.DIRECTOR, User.active.is_(True), User.deleted_at.is_(None))
        .order_by(User.id)
    ).first()


def tell(session: Session, user: User | None, content: str, *, key: str) -> bool:
    """Queue one WeCom text to an active member (sent after commit); the key makes a re-run send nothing more.
    False when there is no one to tell."""
    if not reachable(user):
        return False
    assert user is not None
    notifications.notify(session, notifications.TextToMember(user.wecom_userid, content, key))
    return True


def reachable(user: User | None) -> bool:
    """Whether a message to `user` can go: an active member."""
    return user is not None and user.active and not user.deleted_at


def tell_all(session: Session, texts: Sequence[tuple[User | None, str, str]]) -> int:
    """`tell` for many (user, content, key) at once: the texts go in the outbox in one statement (a key seen before
    adds nothing); answers how many were newly queued."""
    notes = [
        notifications.TextToMember(u.wecom_userid, content, key) for u, content, key in texts if reachable(u) and u
    ]
    return len(notifications.notify_all(session, notes, notifications.TextToMember))


def notify(session: Session, alert: Alert, user: User | None, content: str, tag: str = "raised") -> None:
    """Tell one person of this alert in one message: a manager or director gets the 批注 card carrying `content`,
    anyone else (a rep, a department head) the text."""
    if user is None or not user.active or user.deleted_at:
        return
    card = notifications.AlertToAnnotate(alert, user, tag, content)
    if not notifications.notify(session, card):  # no card for this person (a rep): the text
        tell(session, user, content, key=f"alert:{alert.id}:{tag}:{user.wecom_userid}")


def notify_digest(
    session: Session, alerts: list[Alert], user: User | None, lines: list[str], now: datetime, *, rule_name: str
) -> None:
    """Several alerts for one person at once (a scan's escalations): one card listing them."""
    if user is None or not user.active or user.deleted_at or not alerts:
        return
    key = f"alerts:{alerts[0].id}-{alerts[-1].id}:{user.id}"
    notifications.notify(session, notifications.AlertDigestToMember(tuple(alerts), user, tuple(lines), rule_name, key))


def distinct_users(*users: User | None) -> list[User]:
    out: dict[int, User] = {}
    for user in users:
        if user is not None:
            out.setdefault(user.id, user)
    return list(out.values())
