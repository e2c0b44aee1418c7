"""The follow-up policy (跟进时限): when an open deal's silence becomes 超时未动, and when its task escalates.

One definition, read by the rule that alerts (rules/follow_up_overdue.py), the battle pack that lists the silent
deals among a rep's todos, and the battle map that draws them red — so all three agree on the same instant,
working days only included (handlers/working_time.py counts the hours).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from salesnav.handlers import rule_settings
from salesnav.handlers.working_time import RuleTime, rule_time
from salesnav.metrics.scope import Scope
from salesnav.models import Opportunity, OpportunityStatus


@dataclass(frozen=True)
class FollowUpPolicy:
    overdue_hours: int  # follow_up.overdue_hours, 72 by default
    escalate_after_hours: int  # follow_up.escalate_after_hours, 48 by default
    time: RuleTime

    def overdue_at(self, last_follow_up: datetime) -> datetime:
        """The instant a deal last followed up at `last_follow_up` is overdue from (if nothing happens before)."""
        return self.time.after(last_follow_up, self.overdue_hours)

    def silent_before(self, now: datetime) -> datetime:
        """A deal last followed up before this instant is overdue at `now` (an indexed range scan's bound)."""
        return self.time.before(now, self.overdue_hours)

    def is_overdue(self, last_follow_up: datetime, now: datetime) -> bool:
        return last_follow_up < self.silent_before(now)

    def escalates_before(self, now: datetime) -> datetime:
        """An alert raised before this instant whose task is still open is escalated at `now`."""
        return self.time.before(now, self.escalate_after_hours)

    def silence(self, last_follow_up: datetime, now: datetime) -> timedelta:
        """How long the deal has been silent, as the policy counts hours."""
        return self.time.elapsed(last_follow_up, now)


def follow_up_policy(session: Session) -> FollowUpPolicy:
    """The policy as the settings stand now."""
    return FollowUpPolicy(
        overdue_hours=rule_settings.follow_up(session).overdue_hours,
        escalate_after_hours=rule_settings.follow_up(session).escalate_after_hours,
        time=rule_time(session),
    )


def open_deals_by_owner(session: Session, scope: Scope, now: datetime) -> dict[int, tuple[int, int, int]]:
    """Per owner in `scope`: open deals, their expected amount (fen), and those silent past the policy's limit —
    one grouped query (the team report and the director's view of teams)."""
    silent_before = follow_up_policy(session).silent_before(now)
    rows = session.execute(
        select(
            Opportunity.owner_id,
            func.count(),
            func.coalesce(func.sum(Opportunity.expected_amount_fen), 0),
            func.count(case((Opportunity.last_follow_up_at < silent_before, 1))),
        )
        .where(
            Opportunity.status == OpportunityStatus.OPEN,
            Opportunity.deleted_at.is_(None),
            scope.covers(Opportunity.owner_id),
        )
        .group_by(Opportunity.owner_id)
    )
    return {int(owner): (int(n), int(amount), int(silent)) for owner, n, amount, silent in rows}
