"""Complete a touchpoint after it was logged: the summary, next action and attachments that follow it.

Chat capture saves the touchpoint at the second tap; the voice note or text the rep sends next
becomes its summary. Only someone who may see the customer may add to its touchpoint.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from salesnav.handlers.attachments import attachment_for
from salesnav.handlers.errors import DomainError, NotFound
from salesnav.handlers.records import record_event
from salesnav.handlers.scope import customer_for
from salesnav.handlers.touchpoints import MAX_SUMMARY
from salesnav.models import Touchpoint, User

MAX_NEXT_ACTION = 500


def add_to_touchpoint(
    session: Session,
    actor: User,
    *,
    touchpoint_id: int,
    summary: str | None = None,
    next_action: str | None = None,
    next_action_due: datetime | None = None,
    attachment_ids: list[int] | None = None,
    guessed_fields: list[str] | None = None,
) -> Touchpoint:
    """Append to the touchpoint; `guessed_fields` names what a machine filled in (e.g. from a voice note)."""
    touchpoint = session.get(Touchpoint, touchpoint_id)
    if touchpoint is None or touchpoint.deleted_at:
        raise NotFound("触点不存在")
    customer_for(session, actor, touchpoint.customer_id)
    summary = (summary or "").strip()
    if summary:
        combined = f"{touchpoint.summary}\n{summary}" if touchpoint.summary else summary
        if len(combined) > MAX_SUMMARY:
            raise DomainError(f"纪要过长（最多 {MAX_SUMMARY} 字）")
        touchpoint.summary = combined
    next_action = (next_action or "").strip() or None
    if next_action_due is not None and next_action_due.tzinfo is None:
        raise DomainError("下一步时间缺少时区")
    if next_action_due is not None and not next_action:
        raise DomainError("填写了下一步时间，请同时写明下一步动作")
    if next_action:
        if len(next_action) > MAX_NEXT_ACTION:
            raise DomainError(f"下一步过长（最多 {MAX_NEXT_ACTION} 字）")
        touchpoint.next_action, touchpoint.next_action_due = next_action, next_action_due
    if attachment_ids:
        for attachment_id in attachment_ids:
            attachment_for(session, actor, attachment_id)
        known = list(touchpoint.attachments)
        touchpoint.attachments = known + [a for a in attachment_ids if a not in known]
    if guessed_fields:
        known_guesses = list(touchpoint.guessed_fields or [])
        touchpoint.guessed_fields = known_guesses + [g for g in guessed_fields if g not in known_guesses]
    session.flush()
    record_event(
        session,
        "touchpoint.completed",
        "touchpoint",
        touchpoint.id,
        actor,
        customer_id=touchpoint.customer_id,
        effective=touchpoint.is_effective,
        added=[
            name
            for name, given in (("summary", summary), ("next_action", next_action), ("attachments", attachment_ids))
            if given
        ],
    )
    return touchpoint
