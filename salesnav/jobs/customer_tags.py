"""Tags and lifecycle stages recomputed: a periodic job of the clock, and a job taking customer ids.

`refresh` (every 5 minutes) looks only at the customers that changed since the last run — a customer event, a
touchpoint, a deal or contract, the customer's own row — so its cost follows the changes, not the company's size.
What changes with time alone (a trial that ends, a renewal window that opens, silence that grows long, an event
that falls out of a rule's window) is caught by one full run a business day, the first run after midnight.
`recompute(*customer_ids)` recomputes those customers now (all of them without ids): queued after an admin
changes a tag definition or the lifecycle settings.

Both are idempotent: a change is found against the stored tags and stages, so a re-run records no event twice.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import select, text, union
from sqlalchemy.orm import Session

from salesnav import clock
from salesnav.handlers import lifecycle, tags
from salesnav.models import Contract, Customer, CustomerEvent, Opportunity, TagRun, Touchpoint
from salesnav.models import session as db
from salesnav.settings import current_settings

log = logging.getLogger(__name__)
OVERLAP = timedelta(minutes=2)
OWN_EVENTS = (tags.ADDED, tags.REMOVED, lifecycle.ENTERED, lifecycle.LEFT)
LOCK_KEY = 20_0021  # pg_advisory_xact_lock: issue 20, migration 0021


def changed_since(session: Session, since: datetime) -> set[int]:
    """The customers something happened to after `since`."""
    query = union(
        # The events this job records itself are left out: they follow from changes already looked at.
        select(CustomerEvent.customer_id).where(
            CustomerEvent.recorded_at >= since, CustomerEvent.kind.not_in(OWN_EVENTS)
        ),
        select(Customer.id).where(Customer.updated_at >= since),
        select(Touchpoint.customer_id).where(Touchpoint.updated_at >= since),
        select(Opportunity.customer_id).where(Opportunity.updated_at >= since),
        select(Contract.customer_id).where(Contract.updated_at >= since),
    )
    return {cid for (cid,) in session.execute(query)}


def run(session: Session, now: datetime, among: list[int] | None) -> dict[str, int]:
    """Recompute the rule tags and the lifecycle stages of `among` (None: every customer)."""
    if session.get_bind().dialect.name == "postgresql":
        # One recompute at a time (a periodic run and one an admin's change queued): each compares with what the
        # other may be writing. SQLite's one writer already serialises them.
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": LOCK_KEY})
    changes = lifecycle.apply(session, now, among)  # first: a rule tag may ask for the stage
    changes += tags.recompute(session, now, among)
    looked_at = len(among) if among is not None else session.query(Customer.id).count()
    session.add(TagRun(started_at=now, full=among is None, customers=looked_at, changes=changes))
    return {"customers": looked_at, "changes": changes, "full": int(among is None)}


def refresh(fired_at: str | None = None) -> dict[str, int]:
    now = clock.now()
    with db.transaction() as session:
        last = session.scalars(select(TagRun).order_by(TagRun.started_at.desc(), TagRun.id.desc()).limit(1)).first()
        last_full = session.scalar(select(TagRun.started_at).where(TagRun.full).order_by(TagRun.started_at.desc()))
        tz = current_settings().business_tz
        if last is None or last_full is None or last_full.astimezone(tz).date() < now.astimezone(tz).date():
            result = run(session, now, None)
        else:
            # An overlap with the last run: a change committed just after it read, stamped just before, is not missed.
            result = run(session, now, sorted(changed_since(session, last.started_at - OVERLAP)))
    log.info("tags and lifecycle recomputed: %s", result)
    return result


def recompute(*customer_ids: int) -> dict[str, int]:
    now = clock.now()
    with db.transaction() as session:
        return run(session, now, sorted(customer_ids) if customer_ids else None)
