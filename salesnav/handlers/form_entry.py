"""Entry time per record (录入时长): how long a form stood open before it was submitted.

Touchpoints keep it in their own columns; other forms (opportunity, stage advance, ticket
answer) record it as a `form.entered` event on the record they produced.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from salesnav import clock
from salesnav.handlers.records import record_event
from salesnav.models import User

MAX_PLAUSIBLE_ENTRY = timedelta(hours=12)  # a form left open overnight is not an entry time


def server_form_opened_at(opened: datetime | None, submitted: datetime | None) -> datetime | None:
    """The client's open time on our clock: keep the client's own duration, anchor it at our `now`.

    Phones' clocks drift by minutes; the difference of two readings of the same clock does not.
    """
    if opened is None:
        return None
    now = clock.now()
    duration = (submitted or now) - opened
    if duration < timedelta(0) or duration > MAX_PLAUSIBLE_ENTRY:
        return None
    return now - duration


def record_form_entry(
    session: Session,
    actor: User,
    *,
    form: str,
    subject_type: str,
    subject_id: int,
    opened: datetime | None,
    submitted: datetime | None,
) -> None:
    opened_at = server_form_opened_at(opened, submitted)
    if opened_at is None:
        return
    seconds = round((clock.now() - opened_at).total_seconds(), 1)
    record_event(session, "form.entered", subject_type, subject_id, actor, form=form, entry_seconds=seconds)
